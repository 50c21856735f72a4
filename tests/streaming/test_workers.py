"""What a score worker process loads: the serving side of models only."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_a_score_worker_loads_and_scores_without_torch_or_transformers(tmp_path: Path) -> None:
    # A fresh interpreter: this test process may have imported torch for other tests.
    code = textwrap.dedent(
        f"""
        import sys
        import streaming.workers
        from models.serving.runtime import live_scorer
        from models.settings import ModelSettings

        scorer = live_scorer(
            ModelSettings(registry_dir={str(tmp_path)!r}, hotswap_poll_s=0, threads=1)
        )
        [score] = scorer.score(["Shares of ACME plunge after a profit warning"])
        assert score.sentiment in ("negative", "neutral", "positive"), score
        heavy = sorted(
            m for m in sys.modules if m.split(".")[0] in ("torch", "transformers", "peft")
        )
        print("heavy:", heavy)
        """
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "heavy: []" in result.stdout
