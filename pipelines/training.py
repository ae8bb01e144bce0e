"""What every training run shares: a cosine learning-rate schedule, and resumable progress (checkpoints every few
minutes, a record of each session) that a later session or a GPU run continues."""

from __future__ import annotations

import argparse
import datetime
import json
import math
import os
import shlex
import signal
import sys
import time
import warnings
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import ClassVar

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file
from torch import nn

from pipelines.arguments import bounded_float, bounded_int, torch_device
from pipelines.checkpoint import check_state_fits, load_training_state, read_state_info, save_training_state
from pipelines.model_card import REPO, git_commit, hardware_description
from pipelines.photos import DEFAULT_TRAIN_DIR
from restore.errors import PerformanceWarning
from restore.registry import file_sha256, get_spec, list_specs, weights_dir
from restore.runtime import native_bfloat16, tune_allocator

__all__ = [
    "HelpFormatter",
    "ResumableRun",
    "RunConfig",
    "TrainingSetupError",
    "add_run_arguments",
    "check_model",
    "cosine_learning_rate",
    "mixed_precision",
    "random_dihedral",
    "random_ints",
    "run_command",
    "start_run",
    "state_path",
]

# options that say how and where a session runs, not what it trains on: not reported when they change on resuming
SESSION_OPTIONS = frozenset(
    [
        "steps",
        "minutes",
        "device",
        "threads",
        "precision",
        "checkpoint_minutes",
        "state",
        "init",
        "weights_dir",
        "cache_dir",
        "weights_dtype",
    ]
)
WARMUP_STEPS = 300  # linear learning-rate warm-up over a run's first steps (ResumableRun.warmup_factor)


class TrainingSetupError(Exception):
    """A training command cannot start (or cannot export what it trained): bad paths, a state of another model,
    nothing to train; the command prints it as one line."""


class HelpFormatter(argparse.RawDescriptionHelpFormatter, argparse.ArgumentDefaultsHelpFormatter):
    """The training commands' ``--help``: the module docstring as written, every option with its default (unless
    None: its help says what happens then)."""

    def _get_help_string(self, action: argparse.Action) -> str | None:
        return action.help if action.default is None else super()._get_help_string(action)


@dataclass(frozen=True)
class RunConfig:
    """What every training run is configured with; each pipeline's ``TrainConfig`` extends it (and may change the
    defaults). The run stops at ``steps`` or after ``minutes``, whichever comes first, and its learning rate anneals
    by whichever of the two is further along (``ResumableRun.progress``)."""

    data: Path = DEFAULT_TRAIN_DIR
    steps: int = 50_000
    minutes: float = math.inf
    batch: int = 8
    lr: float = 1e-4
    device: str = "cpu"
    threads: int = 0
    seed: int = 0
    precision: str = "auto"  # "auto": bfloat16 where the device computes it natively, else float32
    checkpoint_minutes: float = 5.0
    state: Path | None = None
    init: Path | None = None  # weights a new run starts from (same architecture); unused when resuming
    weights_dir: Path = REPO / "weights"
    cache_dir: Path = REPO / "cache"
    weights_dtype: str = "float32"  # how the exported weights are stored: float32, or float16 (half the file)

    @property
    def storage_dtype(self) -> torch.dtype:
        """``weights_dtype`` as a torch dtype."""
        return getattr(torch, self.weights_dtype)


def fits_registered(model: nn.Module, name: str) -> bool:
    """Whether weights of ``model`` exported as ``name`` load where ``restore`` looks for them: ``name`` is not a
    registered model (an experiment such as ``deblur-srn``, which nothing loads), or ``model``'s tensors have the
    names and shapes of its registered network."""
    if name not in {spec.name for spec in list_specs()}:
        return True
    shapes = {key: tensor.shape for key, tensor in model.state_dict().items()}
    return shapes == {key: tensor.shape for key, tensor in get_spec(name).build().state_dict().items()}


def cosine_learning_rate(progress: float, peak: float, final_fraction: float = 0.01) -> float:
    """Cosine decay from ``peak`` at progress 0 to ``final_fraction * peak`` at progress 1 (and after); the progress
    is ``ResumableRun.progress``."""
    progress = min(max(progress, 0.0), 1.0)
    floor = peak * final_fraction
    return floor + 0.5 * (peak - floor) * (1 + math.cos(math.pi * progress))


def weights_lineage(weights: Path) -> list[dict]:
    """The training history of the weights file ``weights``, read from its model card beside it (``<stem>.json``):
    one entry for it (steps, seconds, sessions) followed by the lineage it was itself started from; empty without a
    card."""
    card_path = Path(weights).with_suffix(".json")
    if not card_path.is_file():
        return []
    training = json.loads(card_path.read_text()).get("training", {})
    entry = {
        "weights": Path(weights).name,
        "sha256": file_sha256(weights),
        "steps_done": training.get("steps_done"),
        "train_seconds": training.get("train_seconds"),
        "sessions": training.get("sessions", []),
        "initialized_from": training.get("initialized_from", "random"),  # older cards name it without a lineage
    }
    return [entry, *training.get("lineage", [])]


def random_ints(high: int, count: int, generator: torch.Generator) -> list[int]:
    """``count`` integers uniform on [0, high), drawn on the generator's own device (a CUDA generator cannot fill a
    CPU tensor, so this is how a training loop picks crop offsets and flips on any device)."""
    return torch.randint(0, high, (count,), generator=generator, device=generator.device).tolist()


def random_dihedral(generator: torch.Generator) -> Callable[[torch.Tensor], torch.Tensor]:
    """One random flip and rotation (of the 8 dihedral transforms), to apply alike to every tensor of a batch."""
    flip, rotations = random_ints(4, 2, generator)

    def transform(x: torch.Tensor) -> torch.Tensor:
        x = x.flip(-1) if flip % 2 else x
        return torch.rot90(x, rotations, dims=(-2, -1)).contiguous()

    return transform


def mixed_precision(device: torch.device, precision: str) -> torch.autocast:
    """The autocast context of a training step: bfloat16 compute with float32 weights, or plain float32.

    ``precision`` is "float32", "bfloat16" or "auto" (bfloat16 where ``native_bfloat16``; what it saves per step is
    measured by ``benchmarks.training_speed``)."""
    if precision not in ("auto", "float32", "bfloat16"):
        raise ValueError(f"precision must be auto, float32 or bfloat16, not {precision!r}")
    enabled = precision == "bfloat16" or (precision == "auto" and native_bfloat16(device))
    return torch.autocast(device.type, dtype=torch.bfloat16, enabled=enabled)


def state_path(cfg, name: str) -> Path:
    """Where the run of model ``name`` keeps its training state: ``cfg.state``, or
    ``<weights_dir>/checkpoints/<name>.train.safetensors``."""
    return Path(cfg.state or Path(cfg.weights_dir) / "checkpoints" / f"{name}.train.safetensors")


def check_run(cfg, name: str) -> None:
    """Refuse, before any data is read, a run of model ``name`` that would lose work or train nothing: a state file
    that is another model's, ``--init`` beside a state that would override it, no state, no ``--init`` and no step
    to run (the export would be an untrained network), an output path that is a file.

    Raises:
        TrainingSetupError: one of these, with what to do instead.
    """
    state = state_path(cfg, name)
    for folder in (state.parent, Path(cfg.weights_dir)):
        if folder.exists() and not folder.is_dir():
            raise TrainingSetupError(f"{folder} is a file, not a folder to write into")
    if state.exists():
        try:
            owner = read_state_info(state).get("model") or name  # states of older runs do not name it
        except ValueError as error:
            raise TrainingSetupError(f"{error}: give the --state of a training run") from None
        if owner != name:
            raise TrainingSetupError(f"the training state {state} is {owner}'s, not {name}'s: give --state")
        if cfg.init is not None:
            raise TrainingSetupError(
                f"the training state {state} exists and would be resumed, ignoring --init {cfg.init}: give a new "
                "--state to start from --init, or leave --init out to resume"
            )
    elif cfg.init is None and (cfg.steps == 0 or cfg.minutes == 0):
        raise TrainingSetupError(
            f"no training state at {state}, no --init and no step to run: nothing to validate or export"
        )
    elif cfg.init is not None and not Path(cfg.init).is_file():
        raise TrainingSetupError(f"--init {cfg.init}: no such weights file")


def check_model(cfg, name: str, model: nn.Module) -> None:
    """Refuse, before any data is read, a run whose network does not fit: its weights would be exported into the
    registry's weights folder under the name of a registered model of other widths or blocks (``restore`` could not
    load them), or its training state holds another architecture.

    Raises:
        TrainingSetupError: one of these, with what to do instead.
    """
    exported_to = Path(cfg.weights_dir).resolve()
    if exported_to == weights_dir().resolve() and not fits_registered(model, name):
        raise TrainingSetupError(
            f"this {name} is not the registered architecture, so its weights in {exported_to} would not load: "
            "give --weights-dir"
        )
    state = state_path(cfg, name)
    if state.exists():
        try:
            check_state_fits(state, model)
        except ValueError as error:
            raise TrainingSetupError(f"{error}: give another --state, or the options it was trained with") from None


def start_run(cfg, name: str) -> torch.device:
    """Set up a run of model ``name`` with ``cfg`` (``check_run`` first): CPU threads (where given), the seed, cuDNN
    autotuning on a GPU; returns its device. Warns when bfloat16 is asked for on a CPU that only emulates it (a step
    there is many times slower)."""
    check_run(cfg, name)
    if cfg.threads:
        torch.set_num_threads(cfg.threads)
    torch.manual_seed(cfg.seed)
    device = torch.device(cfg.device)
    if cfg.precision == "bfloat16" and device.type == "cpu" and not native_bfloat16(device):
        warnings.warn(
            "this CPU has no native bfloat16 (AVX512-BF16): bfloat16 steps are emulated and many times slower than "
            "float32 (benchmarks/results/training_speed-avx2.md); use --precision auto",
            PerformanceWarning,
            stacklevel=2,
        )
    if device.type == "cuda":
        torch.backends.cudnn.benchmark = True  # training shapes are fixed: let cuDNN pick the fastest kernels once
    return device


def run_command(module: str, parse_args: Callable, train: Callable, argv: list[str] | None) -> None:
    """The ``main`` of a training command: parse, tune the allocator, train with the command line in the card.

    Ctrl-C (SIGINT), SIGTERM or SIGHUP (a closed terminal) during the training steps stops the run after the current
    step, which then saves its state, validates and exports as at its time limit; a second one, or one before the
    first step, aborts. A ``TrainingSetupError`` or a missing photo folder exits with its message (status 2). The
    signal handlers in place before are put back on return."""
    cfg = parse_args(argv)
    tune_allocator()
    stop_signals = [getattr(signal, name) for name in ("SIGINT", "SIGTERM", "SIGHUP") if hasattr(signal, name)]
    previous = {number: signal.signal(number, ResumableRun.stop_active) for number in stop_signals}
    try:
        train(cfg, f"python -m pipelines.{module} " + shlex.join(sys.argv[1:] if argv is None else argv))
    except (TrainingSetupError, FileNotFoundError) as error:
        print(f"{module}: error: {error}", file=sys.stderr)
        sys.exit(2)
    except KeyboardInterrupt:
        print(f"{module}: aborted", file=sys.stderr)
        sys.exit(130)
    finally:
        ResumableRun.active = None  # a run that failed before it finished
        for number, handler in previous.items():
            signal.signal(number, handler)


def add_run_arguments(parser: argparse.ArgumentParser, defaults) -> None:
    """The options every training command shares, with defaults from its config dataclass ``defaults``."""
    parser.add_argument("--data", type=Path, default=defaults.data, help="folder of clean photos")
    parser.add_argument(
        "--steps",
        type=bounded_int(0),
        default=defaults.steps,
        help="stop after this many steps in all (0: no training; with a state, validate and export it; with --init and "
        "a new --state, validate the --init weights on --data's held-out photos, e.g. shipped weights on a run's "
        "photos: give the options of the run that made them, as their card records)",
    )
    parser.add_argument(
        "--minutes",
        type=bounded_float(0, allow_inf=True),
        default=math.inf,
        help="stop after this long (resumable): a leg, within which the learning rate anneals (by steps or by time, "
        "whichever is further); a run stopped early resumes its leg, one that ran its minutes starts a new leg",
    )
    parser.add_argument("--batch", type=bounded_int(1), default=defaults.batch, help="patches per step")
    parser.add_argument(
        "--lr",
        type=bounded_float(0, exclusive_low=True),
        default=defaults.lr,
        help="peak learning rate" + (" (default: the recipe's)" if defaults.lr is None else ""),
    )
    parser.add_argument(
        "--device", type=torch_device, default="cuda" if torch.cuda.is_available() else "cpu", help="training device"
    )
    parser.add_argument("--threads", type=bounded_int(0), default=0, help="CPU threads (0: torch's default)")
    parser.add_argument(
        "--precision",
        choices=("auto", "float32", "bfloat16"),
        default=defaults.precision,
        help="compute precision of a training step (auto: bfloat16 where the device has it natively)",
    )
    parser.add_argument(
        "--checkpoint-minutes",
        type=bounded_float(0, exclusive_low=True, allow_inf=True),
        default=defaults.checkpoint_minutes,
        help="save the training state this often",
    )
    parser.add_argument("--seed", type=bounded_int(0), default=defaults.seed, help="seed of the random batches")
    parser.add_argument(
        "--state",
        type=Path,
        default=None,
        help="resumable training state file (default: <weights-dir>/checkpoints/<model>.train.safetensors)",
    )
    parser.add_argument("--init", type=Path, default=None, help="weights a new run starts from (e.g. a sibling)")
    parser.add_argument(
        "--weights-dir",
        type=Path,
        default=defaults.weights_dir,
        help="where the weights and card are exported (the shipped weights/: give another folder for experiments)",
    )
    parser.add_argument("--cache-dir", type=Path, default=defaults.cache_dir, help="cached training banks")
    parser.add_argument(
        "--weights-dtype",
        choices=("float32", "float16"),
        default=defaults.weights_dtype,
        help="storage of the exported weights (float16 halves the file; the card's validation is of those weights, "
        "the training state keeps float32)",
    )


class ResumableRun:
    """Step counting, time limit, periodic checkpoints and session records of one training run.

    On creation the model and optimizer are restored from ``state_path`` if it exists; otherwise the model starts
    from the weights file ``init`` where given, passed through ``adapt_init`` first if given (e.g. to start a wider
    model from a narrower one's weights). Call ``running()`` before every step and ``optimize()`` for it,
    ``finish()`` at the end; ``record()`` gives the card's training section. The run last created is ``active``
    until it finishes: ``stop_active`` (a signal handler) asks it to stop after its current step.

    A time limit (``minutes``) makes a leg: the learning rate anneals within it (``progress``). A state whose leg was
    cut short (a stop signal, a killed process) resumes that leg where it was, with the minutes it has left, so it
    continues as if never stopped; a state whose leg ran its minutes starts a new leg, which anneals again within its
    own minutes. Either way the batches' random stream goes on from where the state saved it (``generator``).
    """

    active: ClassVar[ResumableRun | None] = None

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
        init: Path | None = None,
        adapt_init: Callable[[dict[str, torch.Tensor]], dict[str, torch.Tensor]] | None = None,
        precision: str = "float32",
        name: str | None = None,
    ) -> None:
        self.state_path, self.model, self.optimizer = Path(state_path), model, optimizer
        self.device, self.precision = device, precision
        self.steps, self.minutes, self.checkpoint_minutes = steps, minutes, checkpoint_minutes
        self.step, self.info = 0, {"seconds": 0.0, "sessions": [], "model": name}
        self.stop_requested = False
        self.leg_seconds_before = 0.0  # of a leg cut short that this session continues
        self.saved_generator: torch.Tensor | None = None
        if self.state_path.exists():
            try:
                self.step, self.info, self.saved_generator = load_training_state(self.state_path, model, optimizer)
            except ValueError as error:
                raise TrainingSetupError(error) from None
            self.info.setdefault("model", name)  # states saved before runs named their model
            leg = self._continue_leg(minutes)
            print(f"resumed from {self.state_path} at step {self.step}, {leg}")
        elif init is not None:
            try:
                state = load_file(init)
                model.load_state_dict(adapt_init(state) if adapt_init else state)
            except (SafetensorError, RuntimeError, KeyError) as error:
                lines = str(error).strip().splitlines()
                first = lines[1].strip() if len(lines) > 1 else lines[0]
                raise TrainingSetupError(f"--init {init} is not weights of this network ({first})") from None
            self.info["initialized_from"] = f"{Path(init).name} (sha256 {file_sha256(init)[:16]})"
            self.info["lineage"] = weights_lineage(init)
            print(f"starting from the weights {self.info['initialized_from']}")
        self.config = {key: str(value) for key, value in config.items()}
        self._report_changed_options()
        self.session = {
            "command": command,
            "device": hardware_description(device),
            "started": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
            "start_step": self.step,
        }
        self.start = self.last_save = time.monotonic()
        self.generator_in_use: torch.Generator | None = None
        ResumableRun.active = self
        self.seconds_before = self.info["seconds"]
        self.loss_sum, self.loss_count = torch.zeros(()), 0

    @classmethod
    def for_config(
        cls, cfg, name: str, model: nn.Module, optimizer, command: str, device: torch.device, adapt_init=None
    ):
        """The run of model ``name`` with a training config (a ``RunConfig``); its state lives at
        ``state_path(cfg, name)``; ``adapt_init`` as for the constructor. Call ``check_model`` first, before reading
        any data."""
        return cls(
            state_path(cfg, name),
            model,
            optimizer,
            command=command,
            device=device,
            config=asdict(cfg),
            steps=cfg.steps,
            minutes=cfg.minutes,
            checkpoint_minutes=cfg.checkpoint_minutes,
            init=cfg.init,
            adapt_init=adapt_init,
            precision=cfg.precision,
            name=name,
        )

    def _report_changed_options(self) -> None:
        """Print the training options that differ from those of the loaded state's last session (the card gives this
        session's, which also make its validation), so a resumed run with an option left out is noticed."""
        before = self.info.get("config") or {}
        changed = [
            f"{key} {before[key]} -> {value}"
            for key, value in self.config.items()
            if key in before and before[key] != value and key not in SESSION_OPTIONS
        ]
        if changed:
            print(f"options changed since the state's last session: {'; '.join(changed)}")

    def _continue_leg(self, minutes: float) -> str:
        """Take over the time of the loaded state's leg if it was cut short with minutes left and this session asks
        for the same minutes (other minutes make a new leg); say which leg this is."""
        leg = self.info.get("leg")
        if leg is None or leg["minutes"] is None:
            return "a new leg" if leg is None or math.isfinite(minutes) else "going on"
        if leg["seconds"] >= leg["minutes"] * 60:
            return f"a new leg (the last one ran its {leg['minutes']:g} minutes)"
        if leg["minutes"] != minutes:
            return f"a new leg of {minutes:g} minutes (the last one, of {leg['minutes']:g}, was cut short)"
        self.leg_seconds_before = leg["seconds"]
        return f"continuing its leg cut short after {leg['seconds'] / 60:.1f} of {leg['minutes']:g} minutes"

    def generator(self, seed: int) -> torch.Generator:
        """The random stream of the batches on the run's device: that of the loaded state where it saved one (so a
        resumed run draws what it would have drawn without the stop), else seeded by ``seed`` and the step. Saved
        with the state."""
        generator = torch.Generator(device=self.device).manual_seed(seed + self.step)
        if self.saved_generator is not None:
            try:
                generator.set_state(self.saved_generator)
            except RuntimeError:  # saved on another kind of device: its stream cannot be carried over
                print("the saved random stream is of another kind of device: seeded anew")
        self.generator_in_use = generator
        return generator

    def optimize(
        self,
        learning_rate: float,
        loss_function: Callable[..., torch.Tensor],
        *inputs,
        clip_grad_norm: float | None = None,
        report_every: int = 100,
    ) -> None:
        """One training step at ``learning_rate`` (during the warm-up, ``warmup_factor`` of it): the loss
        ``loss_function(*inputs)`` (a scalar tensor, computed in the run's precision, see ``mixed_precision``), its
        gradient (norm clipped to ``clip_grad_norm`` where given), the optimizer's step; then the step is counted and
        its loss reported."""
        learning_rate *= self.warmup_factor()
        for group in self.optimizer.param_groups:
            group["lr"] = learning_rate
        with mixed_precision(self.device, self.precision):
            loss = loss_function(*inputs)
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        if clip_grad_norm is not None:
            nn.utils.clip_grad_norm_(self.model.parameters(), clip_grad_norm)
        self.optimizer.step()
        self.advance()
        self.report(loss, learning_rate, every=report_every)

    def report(self, loss: torch.Tensor, lr: float, every: int = 100) -> None:
        """Count a step's loss (a scalar tensor, read only when printed, so a GPU step does not wait for it); print
        the mean loss every ``every`` steps."""
        self.loss_sum = self.loss_sum.to(loss.device) + loss.detach().float()
        self.loss_count += 1
        if self.step % every == 0:
            mean = float(self.loss_sum) / self.loss_count
            print(f"step {self.step} lr {lr:.2e} loss {mean:.5f} {self.elapsed():.0f}s", flush=True)
            self.loss_sum, self.loss_count = torch.zeros(()), 0

    def running(self) -> bool:
        """Whether another step is due: planned steps not reached, within the leg's time limit, no stop asked for."""
        return not self.stop_requested and self.step < self.steps and self.leg_elapsed() < self.minutes * 60

    @classmethod
    def stop_active(cls, signum: int, frame) -> None:
        """Signal handler: ask the active run to stop after its current step (it then saves, validates and exports
        as at its time limit); abort (``KeyboardInterrupt``) if there is none, if it has not made a step yet, or if
        it was asked already."""
        run = cls.active
        if run is None or run.stop_requested or run.step == run.session["start_step"]:
            raise KeyboardInterrupt
        run.stop_requested = True
        message = f"\n{signal.Signals(signum).name}: stopping after the current step (again to abort)\n"
        os.write(sys.stdout.fileno(), message.encode())  # not print: the signal may have interrupted one

    @property
    def steps_including_lineage(self) -> int:
        """Steps made by the weights' whole chain: this run's and those of the weights it started from (``--init``)
        and their own lineage."""
        return self.step + sum(entry["steps_done"] or 0 for entry in self.info.get("lineage", []))

    def warmup_factor(self) -> float:
        """Share of the scheduled learning rate for the next step: rising linearly over the first ``WARMUP_STEPS``
        steps of the run, those of its optimizer's first steps (a run starts from scratch or ``--init`` with a fresh
        optimizer; a resumed one brings its own, and the rest of its warm-up where it stopped within it). Adam's first
        steps move every weight by about the full rate whatever its gradient; at 3e-4 one such step took a trained
        dncnn-color from 31.3 to 21.2 dB."""
        return min(1.0, (self.step + 1) / WARMUP_STEPS)

    def progress(self) -> float:
        """How far the learning-rate schedule is, on [0, 1]: the share of the planned steps done or of the leg's
        minutes spent, whichever is further. A run stopped by its time limit (a GPU lease, a CPU session) has then
        still annealed its learning rate, whatever its speed; a new leg anneals again within its own minutes."""
        by_time = self.leg_elapsed() / (self.minutes * 60) if math.isfinite(self.minutes) else 0.0
        return min(max(self.step / self.steps, by_time), 1.0)

    def elapsed(self) -> float:
        """Seconds since this session started."""
        return time.monotonic() - self.start

    def leg_elapsed(self) -> float:
        """Seconds of the current leg: this session's, plus those of the leg cut short that it continues."""
        return self.leg_seconds_before + self.elapsed()

    def advance(self) -> None:
        """Count a finished step; save the state when a checkpoint is due."""
        self.step += 1
        if time.monotonic() - self.last_save > self.checkpoint_minutes * 60:
            self.save()
            self.last_save = time.monotonic()

    def save(self) -> None:
        """Save model, optimizer and this session's progress, so a run killed between saves loses little."""
        self.session["end_step"] = self.step
        self.session["seconds"] = round(self.elapsed(), 1)
        if self.session not in self.info["sessions"]:
            self.info["sessions"].append(self.session)
        self.info["seconds"] = self.seconds_before + self.elapsed()
        self.info["config"] = self.config
        minutes = self.minutes if math.isfinite(self.minutes) else None
        self.info["leg"] = {"minutes": minutes, "seconds": round(self.leg_elapsed(), 1)}
        generator = None if self.generator_in_use is None else self.generator_in_use.get_state()
        save_training_state(self.state_path, self.model, self.optimizer, self.step, self.info, generator)

    def finish(self) -> None:
        """Save if this session made progress; the run is no longer ``active``.

        Raises:
            TrainingSetupError: the network never trained (no state, no ``init``, no step): nothing to export.
        """
        try:
            if self.step > self.session["start_step"]:
                self.save()  # still active: a first stop signal now does not abort the save
            elif self.step == 0 and "initialized_from" not in self.info:
                raise TrainingSetupError("no step was run and nothing was loaded: an untrained network is not exported")
        finally:
            ResumableRun.active = None

    def record(self) -> dict:
        """The model card's training section: the config of the last session that trained (this one's, unless it
        made no step, as an export-only run; the storage dtype is always this export's), steps, time, the last leg,
        sessions (each with its command) and commit; for a run started from other weights, their training history
        (``lineage``, newest first) and the steps of the whole chain."""
        config = self.config if self.step > self.session["start_step"] else self.info.get("config", self.config)
        if "weights_dtype" in self.config:  # this export's storage, whichever session trained
            config = {**config, "weights_dtype": self.config["weights_dtype"]}
        planned = int(config["steps"])
        return {
            "config": config,
            "steps_done": self.step,
            "steps_planned": planned,
            "complete": self.step >= planned,
            "initialized_from": self.info.get("initialized_from", "random"),
            "train_seconds": round(self.info["seconds"], 1),
            "leg": self.info.get("leg"),  # the last leg's minutes and seconds, across the sessions that resumed it
            "sessions": self.info["sessions"],
            "commit": git_commit(),
            "lineage": self.info.get("lineage", []),
            "steps_including_lineage": self.steps_including_lineage,
        }
