"""Fine-tune one encoder with two heads; batches of the two tasks alternate; select on dev."""

from __future__ import annotations

import copy
import json
import logging
import math
import os
import random
import time
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np
import torch
from pydantic import BaseModel, ConfigDict, Field
from torch import nn
from torch.optim.swa_utils import AveragedModel, get_ema_multi_avg_fn
from transformers import AutoTokenizer, get_scheduler

from models.serving.labels import SENTIMENT_LABELS, TASKS, TOPIC_LABELS
from models.serving.provenance import code_version, default_base, utc_now
from models.serving.textprep import normalise_links
from models.training.datasets import Labelled, read_labelled, sha256
from models.training.metrics import report
from models.training.network import CHECKPOINT_META, TwoHeadClassifier

log = logging.getLogger(__name__)

Task = Literal["sentiment", "topic"]


class TrainConfig(BaseModel):
    """Everything that decides the trained weights (recorded in the model card)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    base: Path = Field(default_factory=default_base)
    sentiment_train: list[Path]
    topic_train: list[Path]
    sentiment_dev: list[Path] = []
    topic_dev: list[Path] = []
    max_length: int = Field(default=128, ge=8, le=512)
    epochs: int = Field(default=4, ge=1)
    learning_rate: float = Field(default=8e-5, gt=0)
    schedule: Literal["linear", "cosine", "constant_with_warmup"] = "linear"
    warmup_ratio: float = Field(default=0.06, ge=0, lt=1)
    weight_decay: float = Field(default=0.01, ge=0)
    batch_size: int = Field(default=32, ge=1)
    seed: int = 13
    patience: int = Field(default=1, ge=0)
    topic_class_weights: Literal["none", "sqrt_inverse"] = "sqrt_inverse"
    sentiment_class_weights: Literal["none", "sqrt_inverse"] = "none"
    lora_r: int = Field(default=0, ge=0)
    limit: int | None = Field(default=None, ge=1)
    threads: int = Field(default_factory=lambda: os.cpu_count() or 1, ge=1)
    # Links replaced by one stand-in word, in training and (by the card) at scoring time.
    normalise_links: bool = False
    # Dev selection and the saved model use an exponential moving average of the weights
    # (decay per step); 0 trains and keeps the raw weights.
    ema_decay: float = Field(default=0.0, ge=0, lt=1)
    # Both heads learn towards (1 - s) on the gold label and s spread over all labels: a hedge
    # against noisy labels (PhraseBank keeps sentences only half of its annotators agreed on).
    label_smoothing: float = Field(default=0.0, ge=0, lt=1)
    # Rows with a teacher's probabilities (p_<label> columns) learn this share from them
    # (Hinton et al.'s distillation: KL at a temperature, scaled by its square), the rest from
    # the gold label; rows without them learn from the gold label alone.
    distil_weight: float = Field(default=0.5, ge=0, le=1)
    distil_temperature: float = Field(default=2.0, gt=0)
    # Analysts' corrections (the sentiment.csv and topic.csv of `undertow feedback export`):
    # every row is learnt ``feedback_weight`` times an epoch, and never cut by ``limit``.
    feedback: Path | None = None
    feedback_weight: int = Field(default=5, ge=1, le=1000)


@dataclass
class Encoded:
    """Token ids of one task's texts, and their labels."""

    ids: list[list[int]]
    labels: list[int]
    # Per row: a teacher's probabilities over the labels, or None.
    soft: list[list[float] | None] | None = None


ProgressFn = Callable[[dict[str, Any]], None]


def _seed(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    torch.use_deterministic_algorithms(True, warn_only=True)


def _encode(tokenizer: Any, data: Labelled, config: TrainConfig) -> Encoded:
    texts, labels = data.texts, data.labels
    soft = data.soft if any(q is not None for q in data.soft) else None
    limit = config.limit
    if limit is not None and len(texts) > limit:
        keep = random.Random(0).sample(range(len(texts)), limit)  # noqa: S311
        texts, labels = [texts[i] for i in keep], [labels[i] for i in keep]
        soft = [soft[i] for i in keep] if soft is not None else None
    if config.normalise_links:
        texts = normalise_links(texts)
    max_length = config.max_length
    ids = tokenizer(texts, truncation=True, max_length=max_length)["input_ids"]
    return Encoded(list(ids), list(labels), soft)


def _batches(data: Encoded, size: int, rng: random.Random) -> list[list[int]]:
    """Shuffled batches of similar length (little padding), in shuffled order."""
    order = list(range(len(data.ids)))
    rng.shuffle(order)
    chunk = size * 50
    batches = []
    for start in range(0, len(order), chunk):
        part = sorted(order[start : start + chunk], key=lambda i: len(data.ids[i]))
        batches += [part[i : i + size] for i in range(0, len(part), size)]
    rng.shuffle(batches)
    return batches


def _interleave(a: list[list[int]], b: list[list[int]]) -> Iterator[tuple[Task, list[int]]]:
    """Alternate the tasks batch by batch; the longer list finishes alone."""
    for i in range(max(len(a), len(b))):
        if i < len(a):
            yield "sentiment", a[i]
        if i < len(b):
            yield "topic", b[i]


def _collate(data: Encoded, idx: Sequence[int], pad_id: int) -> tuple[torch.Tensor, ...]:
    longest = max(len(data.ids[i]) for i in idx)
    ids = torch.full((len(idx), longest), pad_id, dtype=torch.long)
    mask = torch.zeros((len(idx), longest), dtype=torch.long)
    for row, i in enumerate(idx):
        seq = data.ids[i]
        ids[row, : len(seq)] = torch.tensor(seq)
        mask[row, : len(seq)] = 1
    return ids, mask, torch.tensor([data.labels[i] for i in idx])


def _soft_targets(data: Encoded, idx: Sequence[int], n: int) -> tuple[torch.Tensor, torch.Tensor]:
    """The teacher's probabilities of a batch's rows (zeros where a row has none), and which
    rows have them."""
    assert data.soft is not None
    rows = [data.soft[i] for i in idx]
    probs = torch.tensor([q if q is not None else [0.0] * n for q in rows], dtype=torch.float)
    return probs, torch.tensor([q is not None for q in rows], dtype=torch.float)


def distillation_loss(
    logits: torch.Tensor,
    teacher: torch.Tensor,
    has_teacher: torch.Tensor,
    temperature: float,
) -> torch.Tensor:
    """Per row, KL(teacher || student) with both softened by ``temperature``, times its
    square (so the gradient's scale does not depend on it); 0 for rows without a teacher."""
    target = torch.softmax(torch.log(teacher.clamp_min(1e-8)) / temperature, dim=-1)
    log_student = torch.log_softmax(logits / temperature, dim=-1)
    kl = nn.functional.kl_div(log_student, target, reduction="none").sum(-1)
    return kl * has_teacher * temperature**2


def _class_weights(labels: list[int], n: int, how: str) -> torch.Tensor | None:
    if how == "none":
        return None
    counts = np.bincount(labels, minlength=n).astype(float)
    weights = 1.0 / np.sqrt(np.maximum(counts, 1.0))
    return torch.tensor(weights / weights.mean(), dtype=torch.float)


@torch.no_grad()
def predict(
    model: TwoHeadClassifier, data: Encoded, task: Task, pad_id: int, batch: int = 128
) -> list[int]:
    """Arg-max labels of one head over encoded texts (length-sorted for speed)."""
    model.eval()
    order = sorted(range(len(data.ids)), key=lambda i: len(data.ids[i]))
    out = [0] * len(order)
    for start in range(0, len(order), batch):
        idx = order[start : start + batch]
        ids, mask, _ = _collate(data, idx, pad_id)
        logits = model(ids, mask)[0 if task == "sentiment" else 1]
        for i, label in zip(idx, logits.argmax(-1).tolist(), strict=True):
            out[i] = label
    return out


def _evaluate(
    model: TwoHeadClassifier, dev: dict[str, tuple[Task, Encoded]], pad_id: int
) -> dict[str, dict[str, Any]]:
    results = {}
    for name, (task, data) in dev.items():
        pred = predict(model, data, task, pad_id)
        results[name] = report(data.labels, pred, TASKS[task])
    return results


def dev_metrics(model: TwoHeadClassifier, config: TrainConfig, tokenizer: Any) -> dict[str, Any]:
    """The figures of ``model`` on the dev files of ``config``, as training records them."""
    return _evaluate(model, _dev_sets(config, tokenizer), tokenizer.pad_token_id)


def selection_score(dev_metrics: dict[str, dict[str, Any]], dev_tasks: dict[str, Task]) -> float:
    """Mean sentiment macro-F1 over its dev files, averaged with topic accuracy."""
    sent = [m["macro_f1"] for n, m in dev_metrics.items() if dev_tasks[n] == "sentiment"]
    topic = [m["accuracy"] for n, m in dev_metrics.items() if dev_tasks[n] == "topic"]
    parts = [float(np.mean(x)) for x in (sent, topic) if x]
    return float(np.mean(parts)) if parts else 0.0


def _maybe_lora(model: TwoHeadClassifier, r: int) -> None:
    if r == 0:
        return
    from peft import LoraConfig, get_peft_model  # noqa: PLC0415 (only for LoRA runs)

    config = LoraConfig(r=r, lora_alpha=2 * r, lora_dropout=0.1, target_modules="all-linear")
    model.encoder = get_peft_model(model.encoder, config)


def _dev_sets(config: TrainConfig, tokenizer: Any) -> dict[str, tuple[Task, Encoded]]:
    dev: dict[str, tuple[Task, Encoded]] = {}
    for task, paths in (("sentiment", config.sentiment_dev), ("topic", config.topic_dev)):
        for path in paths:
            data = read_labelled([path], TASKS[task])
            dev[f"{task}:{path.parent.name}/{path.name}"] = (
                task,  # type: ignore[assignment]
                _encode(tokenizer, data, config),
            )
    return dev


def base_name(base: Path) -> str:
    """A readable name for the base encoder directory (its package's, if the dir is generic;
    the original encoder's, if the base is one of our own training checkpoints)."""
    meta = base / CHECKPOINT_META
    if meta.exists():
        inherited = json.loads(meta.read_text()).get("base_name")
        if isinstance(inherited, str) and inherited:
            return inherited
    generic = {"model", "models", "checkpoint", "snapshot"}
    return base.parent.name if base.name.lower() in generic else base.name


def _curve(losses: list[float], points: int = 10) -> list[float]:
    """Mean training loss over ``points`` equal stretches of the run."""
    if not losses:
        return []
    parts = np.array_split(np.asarray(losses), min(points, len(losses)))
    return [round(float(p.mean()), 4) for p in parts]


@dataclass
class _Best:
    score: float
    state: dict[str, Any]
    epoch: int
    metrics: dict[str, dict[str, Any]]


class Trainer:
    """One training run: data, model, optimiser; ``run`` trains and returns the metadata."""

    def __init__(self, config: TrainConfig, progress: ProgressFn | None = None) -> None:
        _seed(config.seed)
        torch.set_num_threads(config.threads)
        self.config = config
        self.progress = progress or (lambda event: None)
        self.device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
        self.tokenizer = AutoTokenizer.from_pretrained(str(config.base))
        self.pad_id = int(self.tokenizer.pad_token_id or 0)
        self.sent_data = read_labelled(config.sentiment_train, SENTIMENT_LABELS)
        self.topic_data = read_labelled(config.topic_train, TOPIC_LABELS)
        self.sent = _encode(self.tokenizer, self.sent_data, config)
        self.topic = _encode(self.tokenizer, self.topic_data, config)
        self.feedback = self._add_feedback()
        self.dev = _dev_sets(config, self.tokenizer)
        self.dev_tasks: dict[str, Task] = {name: task for name, (task, _) in self.dev.items()}
        self.model, self.warm_start = TwoHeadClassifier.start(
            config.base, list(SENTIMENT_LABELS), list(TOPIC_LABELS)
        )
        _maybe_lora(self.model, config.lora_r)
        self.model.to(self.device)
        self._optimiser()
        self.rng = random.Random(config.seed)  # noqa: S311 (shuffling, not secrets)
        self.step = 0
        # Taken at the start: the code that trains is the code that counts.
        self.code_version = code_version()
        self.history: list[dict[str, Any]] = []
        self.step_losses: list[float] = []

    def _add_feedback(self) -> dict[str, Any] | None:
        """Append the corrections of ``config.feedback`` (weighted) to the training rows; what
        went in, per task and label, for the card."""
        cfg = self.config
        if cfg.feedback is None:
            return None
        added: dict[str, Any] = {"weight": cfg.feedback_weight, "files": []}
        unlimited = cfg.model_copy(update={"limit": None})
        for task, names, encoded in (("sentiment", SENTIMENT_LABELS, self.sent),
                                     ("topic", TOPIC_LABELS, self.topic)):  # fmt: skip
            path = cfg.feedback / f"{task}.csv"
            added[task] = {}
            if not path.exists() or len(path.read_text(encoding="utf-8").splitlines()) < 2:
                continue  # no corrections of this task
            rows = _encode(self.tokenizer, read_labelled([path], names), unlimited)
            for _ in range(cfg.feedback_weight):
                encoded.ids += rows.ids
                encoded.labels += rows.labels
                if encoded.soft is not None:
                    encoded.soft += [None] * len(rows.ids)
            added[task] = dict(sorted(Counter(names[y] for y in rows.labels).items()))
            added["files"].append({"path": str(path), "sha256": sha256(path)})
        return added

    def _optimiser(self) -> None:
        cfg = self.config
        self.params = [p for p in self.model.parameters() if p.requires_grad]
        self.optimizer = torch.optim.AdamW(
            self.params, lr=cfg.learning_rate, weight_decay=cfg.weight_decay
        )
        per_epoch = sum(math.ceil(len(d.ids) / cfg.batch_size) for d in (self.sent, self.topic))
        self.total = per_epoch * cfg.epochs
        self.scheduler = get_scheduler(
            cfg.schedule, self.optimizer, int(self.total * cfg.warmup_ratio), self.total
        )
        weights = {
            "sentiment": _class_weights(
                self.sent.labels, len(SENTIMENT_LABELS), cfg.sentiment_class_weights
            ),
            "topic": _class_weights(self.topic.labels, len(TOPIC_LABELS), cfg.topic_class_weights),
        }
        self.class_weights = {
            task: w.to(self.device) if w is not None else None for task, w in weights.items()
        }
        self.losses = {
            task: nn.CrossEntropyLoss(weight=w, label_smoothing=cfg.label_smoothing)
            for task, w in self.class_weights.items()
        }
        self.amp = self.device.type == "cuda"
        self.scaler = torch.amp.GradScaler("cuda", enabled=self.amp)
        # The moving average lives in a copy of the model that dev selection reads.
        self.averaged = (
            AveragedModel(self.model, multi_avg_fn=get_ema_multi_avg_fn(cfg.ema_decay))  # type: ignore[no-untyped-call]
            if cfg.ema_decay
            else None
        )

    def _step(self, task: Task, idx: list[int]) -> float:
        data = self.sent if task == "sentiment" else self.topic
        ids, mask, y = (t.to(self.device) for t in _collate(data, idx, self.pad_id))
        with torch.autocast(self.device.type, dtype=torch.float16, enabled=self.amp):
            logits = self.model(ids, mask)[0 if task == "sentiment" else 1]
        loss = self._loss(task, data, idx, logits.float(), y)
        self.optimizer.zero_grad(set_to_none=True)
        self.scaler.scale(loss).backward()  # type: ignore[no-untyped-call]
        self.scaler.unscale_(self.optimizer)
        nn.utils.clip_grad_norm_(self.params, 1.0)
        self.scaler.step(self.optimizer)
        self.scaler.update()
        self.scheduler.step()
        if self.averaged is not None:
            self.averaged.update_parameters(self.model)
        self.step += 1
        return float(loss.item())

    def _loss(
        self, task: Task, data: Encoded, idx: list[int], logits: torch.Tensor, y: torch.Tensor
    ) -> torch.Tensor:
        """Cross-entropy on the gold labels; where rows carry a teacher's probabilities, mixed
        with the distillation loss in the proportion ``distil_weight``."""
        if data.soft is None or all(data.soft[i] is None for i in idx):
            loss: torch.Tensor = self.losses[task](logits, y)
            return loss
        cfg = self.config
        teacher, has = (t.to(self.device) for t in _soft_targets(data, idx, logits.shape[-1]))
        weight = self.class_weights[task]
        hard = nn.functional.cross_entropy(
            logits, y, weight=weight, label_smoothing=cfg.label_smoothing, reduction="none"
        )
        # The same normalisation as the mean cross-entropy: by the batch's summed class weights.
        norm = weight[y].sum() if weight is not None else float(len(idx))
        alpha = cfg.distil_weight
        soft = distillation_loss(logits, teacher, has, cfg.distil_temperature)
        return ((1 - alpha * has) * hard).sum() / norm + alpha * soft.mean()

    def _epoch(self, epoch: int) -> float | None:
        self.model.train()
        size = self.config.batch_size
        plan = _interleave(
            _batches(self.sent, size, self.rng), _batches(self.topic, size, self.rng)
        )
        ema = None
        for task, idx in plan:
            loss = self._step(task, idx)
            self.step_losses.append(loss)
            ema = loss if ema is None else 0.9 * ema + 0.1 * loss
            if self.step % 10 == 0:
                self.progress({"epoch": epoch, "step": self.step, "total": self.total, "loss": ema})
        return ema

    def _validate(self, epoch: int, loss: float | None) -> tuple[float, dict[str, Any]]:
        metrics = _evaluate(self._counted(), self.dev, self.pad_id) if self.dev else {}
        score = selection_score(metrics, self.dev_tasks)
        summary = {
            n: {"accuracy": m["accuracy"], "macro_f1": m["macro_f1"]} for n, m in metrics.items()
        }
        self.history.append({"epoch": epoch, "loss": loss, "score": score, "dev": summary})
        event = {"epoch": epoch, "step": self.step, "total": self.total, "loss": loss}
        self.progress({**event, "score": score, "dev": summary})
        return score, metrics

    def _counted(self) -> TwoHeadClassifier:
        """The weights that count: the averaged ones when averaging."""
        if self.averaged is None:
            return self.model
        module = self.averaged.module
        assert isinstance(module, TwoHeadClassifier)
        return module

    def run(self) -> _Best:
        """Train epoch by epoch; keep the best dev state; stop after ``patience`` flat epochs."""
        best: _Best | None = None
        stale = 0
        for epoch in range(1, self.config.epochs + 1):
            loss = self._epoch(epoch)
            score, metrics = self._validate(epoch, loss)
            if best is None or score > best.score:
                state = copy.deepcopy(self._counted().state_dict())
                best, stale = _Best(score, state, epoch, metrics), 0
                continue
            stale += 1
            if stale > self.config.patience:
                log.info("early stop after epoch %d", epoch)
                break
        assert best is not None
        self.model.load_state_dict(best.state)
        if self.config.lora_r:
            self.model.encoder = self.model.encoder.merge_and_unload()
        self.model.cpu()
        return best

    def metadata(self, best: _Best, seconds: float) -> dict[str, Any]:
        """What the model card records about this run."""
        cfg = self.config

        def files(paths: Sequence[Path]) -> list[dict[str, str]]:
            return [{"path": str(p), "sha256": sha256(p)} for p in paths]

        return {
            "base": str(cfg.base),
            "base_name": base_name(cfg.base),
            # True: went on from the heads of an undertow checkpoint (--base), not new ones.
            "warm_start": self.warm_start,
            "sentiment_labels": list(SENTIMENT_LABELS),
            "topic_labels": list(TOPIC_LABELS),
            "max_length": cfg.max_length,
            "normalise_links": cfg.normalise_links,
            "hyperparameters": cfg.model_dump(mode="json"),
            "data": {
                "sentiment_train": files(self.sent_data.files),
                "topic_train": files(self.topic_data.files),
                "dev": files([*cfg.sentiment_dev, *cfg.topic_dev]),
            },
            "train_counts": {"sentiment": len(self.sent.ids), "topic": len(self.topic.ids)},
            # Analysts' corrections learnt (per task and label) and their weight; None: none.
            "feedback": self.feedback,
            # Rows that learnt from a teacher's probabilities as well as from their label.
            "soft_target_counts": {
                task: sum(q is not None for q in data.soft or [])
                for task, data in (("sentiment", self.sent), ("topic", self.topic))
            },
            "best_epoch": best.epoch,
            "dev_metrics": best.metrics,
            "history": self.history,
            "loss_curve": _curve(self.step_losses),
            "device": self.device.type,
            "train_seconds": round(seconds, 1),
            "code_version": self.code_version,
            "created_at": utc_now(),
        }


def train(
    config: TrainConfig, output: Path, progress: ProgressFn | None = None, command: str = ""
) -> dict[str, Any]:
    """Fine-tune and write a checkpoint directory; return its metadata."""
    began = time.monotonic()
    trainer = Trainer(config, progress)
    best = trainer.run()
    meta = trainer.metadata(best, time.monotonic() - began) | {"train_command": command}
    trainer.model.save(output, meta)
    trainer.tokenizer.save_pretrained(str(output))
    return meta
