"""YAML: configuration dicts. Uses PyYAML's safe dumper and loader (C versions when present)."""

import os
from typing import Any

from ._base import Handler, corrupt
from ._compare import Detail, compare_values
from ._json import summarize_value, value_summary

DESCRIBE_MAX_BYTES = 4 << 20


def _yaml():
    import yaml

    return yaml


class YamlHandler(Handler):
    kind = "yaml"
    folder = "yamls"
    suffixes = (".yaml", ".yml")
    description = "configuration dicts and lists"
    media_types = {".yaml": "application/yaml", ".yml": "application/yaml"}

    def to_bytes(self, obj, path=None, sort_keys=True, default_flow_style=False):
        yaml = _yaml()
        dumper = getattr(yaml, "CSafeDumper", yaml.SafeDumper)
        text = yaml.dump(
            obj, Dumper=dumper, sort_keys=sort_keys, default_flow_style=default_flow_style, allow_unicode=True
        )
        return text.encode("utf-8")

    def load(self, path: str) -> Any:
        yaml = _yaml()
        loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
        with open(path, "rb") as f:
            try:
                return yaml.load(f, Loader=loader)
            except yaml.constructor.ConstructorError:
                raise  # valid YAML with a tag (such as !!python/object) the safe loader refuses: not corrupt
            except yaml.YAMLError as exc:
                raise corrupt(path, "it is not valid YAML", exc) from None

    def describe(self, path):
        size = os.path.getsize(path)
        info = {"size": size}
        if size <= DESCRIBE_MAX_BYTES:
            info.update(summarize_value(self.load(path)))
        return info

    def summary(self, description: dict) -> str:
        return value_summary(description)

    def compare(self, path_a: str, path_b: str) -> Detail:
        """Key by key, like JSON."""
        return compare_values(self.load, path_a, path_b)
