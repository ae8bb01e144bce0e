"""What every training run shares: a cosine learning-rate schedule, and resumable progress (checkpoints every few
minutes, a record of each session) that a later session or a GPU run continues."""

from __future__ import annotations

import math
import time
from pathlib import Path

import torch
from torch import nn

from pipelines.checkpoint import load_training_state, save_training_state
from pipelines.model_card import git_commit, hardware_description

__all__ = ["ResumableRun", "cosine_learning_rate"]


def cosine_learning_rate(step: int, steps: int, peak: float, final_fraction: float = 0.01) -> float:
    """Cosine decay from ``peak`` at step 0 to ``final_fraction * peak`` at ``steps`` (and after)."""
    progress = min(step / steps, 1.0)
    floor = peak * final_fraction
    return floor + 0.5 * (peak - floor) * (1 + math.cos(math.pi * progress))


class ResumableRun:
    """Step counting, time limit, periodic checkpoints and session records of one training run.

    On creation the model and optimizer are restored from ``state_path`` if it exists. Call ``running()`` before
    and ``advance()`` after every step, ``finish()`` at the end; ``record()`` gives the card's training section.
    """

    def __init__(
        self,
        state_path: Path,
        model: nn.Module,
        optimizer: torch.optim.Optimizer,
        *,
        command: str,
        device: torch.device,
        config: dict,
        steps: int,
        minutes: float,
        checkpoint_minutes: float,
    ) -> None:
        self.state_path, self.model, self.optimizer = Path(state_path), model, optimizer
        self.steps, self.minutes, self.checkpoint_minutes = steps, minutes, checkpoint_minutes
        self.step, self.info = 0, {"seconds": 0.0, "sessions": []}
        if self.state_path.exists():
            self.step, self.info = load_training_state(self.state_path, model, optimizer)
            print(f"resumed from {self.state_path} at step {self.step}")
        self.config = {key: str(value) for key, value in config.items()}
        self.session = {"command": command, "device": hardware_description(device), "start_step": self.step}
        self.start = self.last_save = time.monotonic()
        self.seconds_before = self.info["seconds"]

    def running(self) -> bool:
        """Whether another step is due: planned steps not reached and within the time limit."""
        return self.step < self.steps and time.monotonic() - self.start < self.minutes * 60

    def elapsed(self) -> float:
        """Seconds since this session started."""
        return time.monotonic() - self.start

    def advance(self) -> None:
        """Count a finished step; save the state when a checkpoint is due."""
        self.step += 1
        if time.monotonic() - self.last_save > self.checkpoint_minutes * 60:
            self.save()
            self.last_save = time.monotonic()

    def save(self) -> None:
        """Save model, optimizer and this session's progress, so a run killed between saves loses little."""
        self.session["end_step"] = self.step
        if self.session not in self.info["sessions"]:
            self.info["sessions"].append(self.session)
        self.info["seconds"] = self.seconds_before + self.elapsed()
        self.info["config"] = self.config
        save_training_state(self.state_path, self.model, self.optimizer, self.step, self.info)

    def finish(self) -> None:
        """Save if this session made progress."""
        if self.step > self.session["start_step"]:
            self.save()

    def record(self) -> dict:
        """The model card's training section: the latest config, steps, time, sessions and commit."""
        config = self.info.get("config", self.config)
        planned = int(config["steps"])
        return {
            "config": config,
            "steps_done": self.step,
            "steps_planned": planned,
            "complete": self.step >= planned,
            "train_seconds": round(self.info["seconds"], 1),
            "sessions": self.info["sessions"],
            "commit": git_commit(),
        }
