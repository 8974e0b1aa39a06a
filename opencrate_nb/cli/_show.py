"""``crate show NAME VERSION ARTIFACT``: one artifact's record, summary and history."""

import argparse
import os

from ..core import _timelines, history, refs
from ..core._names import check_artifact_path
from ..core.handlers import get_handler
from ._output import LIST_ITEMS, add_name, add_version, command, emit, emit_json, fact_lines, table


def add_parser(commands: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    parser = command(
        commands,
        common,
        "show",
        run,
        "describe one artifact of a version",
        "Kind, size, hash, when and by which cell it was saved, a summary of its content (shape, "
        "keys, tensors...) and its history.",
    )
    add_name(parser, optional=False)
    add_version(parser, required=True)
    parser.add_argument("artifact", help="file name (metrics.json) or path in the version (jsons/metrics.json)")


def find(ref, artifact):
    """The record path of ``artifact`` in a version; a clear error when absent or ambiguous."""
    artifact = check_artifact_path(artifact)  # the spelling the record holds
    current = _timelines.index_for(ref.dir_path).current_entries()
    if artifact in current:
        return artifact
    matches = sorted(p for p in current if p.rsplit("/", 1)[-1] == artifact)
    if len(matches) == 1:
        return matches[0]
    if matches:
        raise KeyError(f"{artifact!r} is in several folders of {ref.label}: {', '.join(matches)}. Give the path.")
    import difflib

    close = difflib.get_close_matches(artifact, [p.rsplit("/", 1)[-1] for p in current], n=1)
    hint = f" Did you mean {close[0]!r}?" if close else ""
    raise KeyError(f"No artifact {artifact!r} in {ref.label}.{hint} See: crate ls {ref.name}")


def run(args: argparse.Namespace) -> int:
    ref = refs.resolve(args.version, name=args.name, root=args.root)
    path = find(ref, args.artifact)
    full = os.path.join(ref.dir_path, path)
    content = _timelines.index_for(ref.dir_path).current_entries()[path]
    info = {
        "version": ref.to_dict(),
        "path": path,
        "file": full,
        "kind": content.kind,
        "size": content.size,
        "sha256": content.sha256,
        "time": content.last_time,
        "cell": content.cell,
        "summary": summarize(content.kind, full),
        "history": [
            {k: v for k, v in item.items() if k != "path"} for item in history.history_of(ref.dir_path, path, full)
        ],
    }
    if args.json:
        emit_json(info)
        return 0
    emit(show_text(ref.label, info, history.history_of(ref.dir_path, path, full)))
    return 0


def show_text(label: str, info: dict, history_text: object) -> str:
    """What ``crate show`` prints: the record's facts, the content's summary (a table's first
    rows as a table), then the history."""
    summary = dict(info["summary"])
    summary.pop("size", None)  # the record's size is shown already
    handler = get_handler(info["kind"]) if info["kind"] else None
    one_line = _summary_line(handler, info["summary"])
    facts = [("kind", info["kind"]), ("size", info["size"]), ("sha256", info["sha256"])]
    facts += [("saved", info["time"]), ("cell", info["cell"])]
    if one_line:
        facts.append(("summary", one_line))
    head = summary.pop("head", None) if isinstance(summary.get("columns"), list) else None
    tensors = summary.pop("tensors", None)
    count = summary.pop("tensor_count", None)
    if one_line:
        summary.pop("format", None)  # the summary line starts with it
    if not (isinstance(tensors, list) and all(isinstance(t, dict) for t in tensors)):
        summary["tensors"], tensors = tensors, None  # not a handler's tensor list: shown as a value
    summary = {k: v for k, v in summary.items() if v is not None}
    facts += list(summary.items())
    lines = [f"{label}/{info['path']}", *fact_lines(facts)]
    if isinstance(head, list) and head and all(isinstance(row, (list, tuple)) for row in head):
        lines.append("  first rows")
        lines += ["    " + line for line in table(summary["columns"], head).splitlines()]
    if tensors:
        lines.append("  tensors")
        lines += ["    " + line for line in tensor_table(tensors, count).splitlines()]
    lines.append(str(history_text))
    return "\n".join(lines)


def tensor_table(tensors: list, count: object = None) -> str:
    """A checkpoint's tensors as rows of name, shape (``16×8``) and dtype; the rest counted."""
    rows = []
    for tensor in tensors[:LIST_ITEMS]:
        shape = tensor.get("shape")
        shown = "\u00d7".join(str(s) for s in shape) if isinstance(shape, (list, tuple)) and shape else "scalar"
        rows.append((tensor.get("name") or "-", shown, tensor.get("dtype") or "-"))
    text = table(["name", "shape", "dtype"], rows)
    total = count if isinstance(count, int) else len(tensors)
    if total > len(rows):
        text += f"\n\u2026 ({total - len(rows)} more)"
    return text


def _summary_line(handler, description: dict) -> str:
    """The handler's one-line summary of its description, when the handler has one ('' otherwise)."""
    summary = getattr(handler, "summary", None)
    if not callable(summary) or "note" in description:
        return ""
    try:
        line = summary(description)
    except Exception:  # noqa: BLE001 - a summary must not stop the command
        return ""
    return line if isinstance(line, str) else ""


def summarize(kind, full):
    """The handler's describe() of a file (built-in and installed kinds); size only otherwise."""
    handler = get_handler(kind) if kind else None
    if not os.path.exists(full):
        return {"note": "the file is missing (see crate verify)"}
    if handler is None or os.path.isdir(full):
        return {"size": os.path.getsize(full)} if not os.path.isdir(full) else {"folder": True}
    try:
        return handler.describe(full)
    except Exception as exc:  # noqa: BLE001 - a summary must not stop the command
        return {"note": f"could not summarise: {type(exc).__name__}: {exc}"}
