"""The Scorer: fast tokenizer + one ONNX Runtime session → sentiment and topic for a batch of texts.

Texts are sorted by token length and cut into batches of at most ``max_batch``, each padded only
to its own longest text, so short tweets do not pay for a long article. Results come back in the
order of the input.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import onnxruntime as ort
from tokenizers import Tokenizer

from models.exceptions import ModelError
from models.serving import calibration, textprep
from models.serving.card import ModelCard
from models.serving.variants import INPUTS, OUTPUTS, VARIANT_FILES

log = logging.getLogger(__name__)

CUDA = "CUDAExecutionProvider"
CPU = "CPUExecutionProvider"
# Padded tokens per inference batch when not configured. On 2 CPU cores small batches win
# (activations stay in cache): 512 measured best among 256/384/512/1024 with the shipped model,
# and 1024 padded tokens a batch scored ~10% fewer documents per second; a GPU wants big ones.
CPU_BATCH_TOKENS = 512
CUDA_BATCH_TOKENS = 16384


@dataclass(frozen=True)
class Score:
    """What the models say about one text."""

    sentiment: str
    sentiment_score: float  # p_pos - p_neg, in [-1, 1]
    sentiment_probs: dict[str, float]
    topic: str
    topic_confidence: float
    model_name: str
    model_version: str
    # What the model read: tokens (after truncation to max_length; so equal to it when the text
    # was cut) and the share of them the vocabulary did not know (drift signals).
    tokens: int = 0
    unknown_share: float = 0.0


@dataclass(frozen=True)
class Runtime:
    """The device, execution providers and model variant a Scorer really runs with."""

    device: str
    providers: list[str]
    variant: str
    threads: int


def available_cores() -> int:
    """Cores this process may run on (affinity, not the machine's total)."""
    return len(os.sched_getaffinity(0))


def _session_options(threads: int, spin: bool) -> ort.SessionOptions:
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    # Spinning threads wait for work at full speed: a little faster on an idle machine, but in a
    # stream the gaps between batches are spent spinning, taking the cores the event loop,
    # Kafka and Elasticsearch need (measured in `undertow bench`, see the README).
    options.add_session_config_entry("session.intra_op.allow_spinning", "1" if spin else "0")
    options.inter_op_num_threads = 1
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    return options


def _variant_for(device: str, wanted: str, model_dir: Path) -> str:
    order = (
        [wanted]
        if wanted != "auto"
        else (["fp16", "fp32"] if device == "cuda" else ["int8", "fp32"])
    )
    for variant in order:
        if (model_dir / VARIANT_FILES[variant]).exists():
            return variant
    raise ModelError(f"{model_dir} has none of the model variants {order}")


def preload_cuda() -> None:
    """Load the CUDA and cuDNN libraries that came from PyPI (onnxruntime-gpu's cuda and cudnn
    extras) before a CUDA session needs them; a system-wide CUDA is found without it."""
    preload = getattr(ort, "preload_dlls", None)
    if preload is None:
        return
    try:
        preload()
    except (OSError, RuntimeError) as exc:  # e.g. no GPU driver: the session says so next
        log.warning("could not preload the CUDA libraries: %s", exc)


def open_session(
    model_dir: Path,
    device: str = "auto",
    variant: str = "auto",
    threads: int | None = None,
    spin: bool = False,
) -> tuple[ort.InferenceSession, Runtime]:
    """An ONNX Runtime session on the best provider that really works here.

    onnxruntime-gpu silently falls back to CPU when CUDA libraries are missing, so the providers
    of the built session are checked, not only the list of available ones.
    """
    threads = threads or available_cores()
    has_cuda = CUDA in ort.get_available_providers()
    if has_cuda and device in ("auto", "cuda"):
        preload_cuda()
    if device == "cuda" and not has_cuda:
        raise ModelError("device cuda requested, but this onnxruntime has no CUDA provider")
    if device in ("auto", "cuda") and has_cuda:
        try:
            chosen = _variant_for("cuda", variant, model_dir)
        except ModelError:
            if device == "cuda":
                raise
            log.warning("%s has no GPU variant (fp16/fp32): scoring on CPU", model_dir)
            return _cpu_session(model_dir, variant, threads, spin)
        session = ort.InferenceSession(
            str(model_dir / VARIANT_FILES[chosen]),
            sess_options=_session_options(threads, spin),
            providers=[CUDA, CPU],
        )
        if session.get_providers()[0] == CUDA:
            return session, Runtime("cuda", session.get_providers(), chosen, threads)
        if device == "cuda":
            raise ModelError("CUDA provider present but the session fell back to CPU")
        log.warning("CUDA provider did not initialise; using CPU")
    return _cpu_session(model_dir, variant, threads, spin)


def _cpu_session(
    model_dir: Path, variant: str, threads: int, spin: bool
) -> tuple[ort.InferenceSession, Runtime]:
    chosen = _variant_for("cpu", variant, model_dir)
    session = ort.InferenceSession(
        str(model_dir / VARIANT_FILES[chosen]),
        sess_options=_session_options(threads, spin),
        providers=[CPU],
    )
    return session, Runtime("cpu", session.get_providers(), chosen, threads)


def _load_tokenizer(model_dir: Path, max_length: int) -> tuple[Tokenizer, int]:
    path = model_dir / "tokenizer.json"
    if not path.exists():
        raise ModelError(f"{model_dir} has no tokenizer.json (a fast tokenizer is required)")
    tokenizer = Tokenizer.from_file(str(path))
    tokenizer.no_padding()
    tokenizer.enable_truncation(max_length=max_length)
    pad_id = 0
    config = model_dir / "tokenizer_config.json"
    if config.exists():
        pad_token = json.loads(config.read_text()).get("pad_token")
        token_id = tokenizer.token_to_id(pad_token) if isinstance(pad_token, str) else None
        if token_id is not None:
            pad_id = token_id
    return tokenizer, pad_id


class Scorer:
    """Scores texts with one model version; thread-safe for concurrent ``score`` calls."""

    def __init__(
        self,
        model_dir: Path,
        *,
        device: str = "auto",
        variant: str = "auto",
        threads: int | None = None,
        max_batch: int = 64,
        max_length: int = 128,
        batch_tokens: int | None = None,
        normalise_links: bool | None = None,
        spin: bool = False,
        calibrate: bool = True,
        negative_min_prob: float | None = None,
    ) -> None:
        card = ModelCard.read(model_dir)
        self.card = card
        # The card's temperatures (1.0: none, or calibrate=False for the raw probabilities).
        self.temperatures = {
            task: (
                card.calibration[task].temperature
                if calibrate and task in card.calibration
                else 1.0
            )
            for task in ("sentiment", "topic")
        }
        self.version: str = card.version
        self.name: str = card.base_name
        self.sentiment_labels: list[str] = card.sentiment_labels
        self.topic_labels: list[str] = card.topic_labels
        self.max_batch = max_batch
        # None: as the model was trained (its card says whether links were normalised).
        self.normalise_links = card.normalise_links if normalise_links is None else normalise_links
        self.max_length = min(max_length, card.max_length or max_length)
        self.tokenizer, self.pad_id = _load_tokenizer(model_dir, self.max_length)
        self.session, self.runtime = open_session(model_dir, device, variant, threads, spin)
        self.batch_tokens = batch_tokens or (
            CUDA_BATCH_TOKENS if self.runtime.device == "cuda" else CPU_BATCH_TOKENS
        )
        # The vocabulary's unknown token (WordPiece, WordLevel and BPE models name it).
        unknown = getattr(self.tokenizer.model, "unk_token", None)
        self.unk_id = self.tokenizer.token_to_id(unknown) if isinstance(unknown, str) else None
        self._neg = self.sentiment_labels.index("negative")
        self._pos = self.sentiment_labels.index("positive")
        # A text is labelled negative only at this (calibrated) probability or above, else its
        # likelier other label: fewer, surer negatives for the negative rule (None: argmax).
        self.negative_min_prob = negative_min_prob

    def encode(self, texts: Sequence[str]) -> list[list[int]]:
        """Token ids per text, truncated to ``max_length`` (links normalised when the model was
        trained so: they carry no meaning and cost ~40% of a tweet's tokens)."""
        if self.normalise_links:
            texts = textprep.normalise_links(texts)
        return [enc.ids for enc in self.tokenizer.encode_batch(list(texts))]

    def batches(self, lengths: Sequence[int]) -> list[list[int]]:
        """Length-sorted batches of at most ``max_batch`` texts and ``batch_tokens`` padded tokens.

        Cost grows with padded tokens, so a long text starts a smaller batch instead of making
        every short text in a big one pay for its length.
        """
        out: list[list[int]] = []
        current: list[int] = []
        for i in sorted(range(len(lengths)), key=lambda i: lengths[i]):
            full = len(current) >= self.max_batch
            if current and (full or (len(current) + 1) * lengths[i] > self.batch_tokens):
                out.append(current)
                current = []
            current.append(i)
        if current:
            out.append(current)
        return out

    def pad(self, ids: Sequence[Sequence[int]]) -> dict[str, np.ndarray]:
        """Model inputs for one batch, padded to its longest sequence."""
        longest = max(len(x) for x in ids)
        input_ids = np.full((len(ids), longest), self.pad_id, dtype=np.int64)
        mask = np.zeros((len(ids), longest), dtype=np.int64)
        for row, seq in enumerate(ids):
            input_ids[row, : len(seq)] = seq
            mask[row, : len(seq)] = 1
        return {INPUTS[0]: input_ids, INPUTS[1]: mask}

    def _run(self, feeds: dict[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
        if self.runtime.device == "cuda":
            binding = self.session.io_binding()
            for name, array in feeds.items():
                binding.bind_cpu_input(name, array)
            for name in OUTPUTS:
                binding.bind_output(name, "cuda")
            self.session.run_with_iobinding(binding)
            sentiment, topic = binding.copy_outputs_to_cpu()
        else:
            sentiment, topic = self.session.run(list(OUTPUTS), feeds)
        return np.asarray(sentiment, np.float32), np.asarray(topic, np.float32)

    def probabilities(self, texts: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
        """Sentiment and topic probabilities (calibrated as the card says), rows in input
        order."""
        return self._probabilities(self.encode(texts))

    def _probabilities(self, ids: list[list[int]]) -> tuple[np.ndarray, np.ndarray]:
        sentiment = np.zeros((len(ids), len(self.sentiment_labels)), np.float32)
        topic = np.zeros((len(ids), len(self.topic_labels)), np.float32)
        for idx in self.batches([len(x) for x in ids]):
            s, t = self._run(self.pad([ids[i] for i in idx]))
            sentiment[idx] = s
            topic[idx] = t
        return (
            calibration.apply(sentiment, self.temperatures["sentiment"]),
            calibration.apply(topic, self.temperatures["topic"]),
        )

    def _sentiment_label(self, probs: np.ndarray) -> int:
        label = int(probs.argmax())
        unsure = self.negative_min_prob is not None and probs[self._neg] < self.negative_min_prob
        if label == self._neg and unsure:  # the likelier of the other labels
            label = int(np.argmax(np.where(np.arange(len(probs)) == self._neg, -1.0, probs)))
        return label

    def score(self, texts: Sequence[str]) -> list[Score]:
        """One Score per text, in input order."""
        if not texts:
            return []
        ids = self.encode(texts)
        sentiment, topic = self._probabilities(ids)
        out = []
        for s, t, seq in zip(sentiment, topic, ids, strict=True):
            k = int(t.argmax())
            label = self._sentiment_label(s)
            unknown = sum(1 for i in seq if i == self.unk_id) if self.unk_id is not None else 0
            out.append(
                Score(
                    sentiment=self.sentiment_labels[label],
                    sentiment_score=round(float(s[self._pos] - s[self._neg]), 6),
                    sentiment_probs={
                        lab: round(float(p), 6)
                        for lab, p in zip(self.sentiment_labels, s, strict=True)
                    },
                    topic=self.topic_labels[k],
                    topic_confidence=round(float(t[k]), 6),
                    model_name=self.name,
                    model_version=self.version,
                    tokens=len(seq),
                    unknown_share=round(unknown / len(seq), 4) if seq else 0.0,
                )
            )
        return out
