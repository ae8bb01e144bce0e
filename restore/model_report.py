"""What ``restore models`` prints: a line per model, or one model's details from its registry entry and card."""

from __future__ import annotations

from restore.registry import ModelInfo, run_used_its_minutes, weights_dir


def training_status(info: ModelInfo) -> str:
    """What the table says of a model's training: "classical", "no readable model card", or the steps behind the
    weights, "(partial)" where the run stopped before its planned steps and before its minutes were up."""
    if info.kind == "classical":
        return "classical"
    if info.card is None:
        return "no readable model card"  # weights not installed, or the card damaged
    training = info.card.get("training", {})
    steps = training.get("steps_including_lineage", training.get("steps_done", "?"))  # the weights' whole chain
    finished = training.get("complete") or run_used_its_minutes(training)
    return f"{steps} steps" + ("" if finished else " (partial)")


def channel_names(info: ModelInfo) -> str:
    """The channel counts a model takes natively, e.g. "gray/rgb"."""
    return "/".join("gray" if count == 1 else "rgb" for count in info.channels)


def model_table(infos: list[ModelInfo]) -> list[str]:
    """One line per model: name, task, input kind, channels, training status and summary, in aligned columns."""
    rows = [
        [info.name, info.task, info.input_kind, channel_names(info), training_status(info), info.summary]
        for info in infos
    ]
    widths = [max(len(row[column]) for row in rows) for column in range(len(rows[0]) - 1)]
    return [" ".join(cell.ljust(width) for cell, width in zip(row, widths)) + " " + row[-1] for row in rows]


def model_details(info: ModelInfo) -> list[str]:
    """A model's summary, kind, options, and for a learned one its weights file, training and validation."""
    takes = f"{info.task}, {info.kind}, takes {info.input_kind} input ({channel_names(info)})"
    lines = [f"{info.name}: {info.summary}", "  " + takes + (", ensemble=True" if info.self_ensemble else "")]
    lines += [f"  option {name}: {text}" for name, text in info.options.items()]
    if info.kind == "classical":
        return [*lines, "  classical baseline: no weights"]
    if info.card is None:
        return [*lines, f"  no readable model card in {weights_dir()} (weights not installed, or the card damaged)"]
    card, training = info.card, info.card.get("training", {})
    sha256 = str(card.get("sha256", "?"))[:16]
    lines.append(
        f"  weights: {weights_dir() / str(card.get('weights', '?'))} (sha256 {sha256}..., {card.get('exported', '?')})"
    )
    lines.append(f"  training: {training_status(info)}")
    last = (training.get("sessions") or [{}])[-1]
    if last.get("command"):
        lines.append(f"  last session: {last['command']} ({last.get('device', '?')}, {last.get('started', '?')})")
    validation = card.get("validation") or {}
    if validation.get("psnr"):
        scores = ", ".join(f"{name} {value}" for name, value in validation["psnr"].items())
        lines.append(f"  validation: {scores} ({validation.get('what', '')})")
    return lines
