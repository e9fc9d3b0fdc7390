"""Kubernetes' and Tekton's own rules for the names and paths of a run file that end up in host
paths or podman arguments. The API server and Tekton's webhook refuse a value that breaks them,
so the runner refuses it too (InvalidRun naming the field), before anything is created.

Sources: k8s.io/apimachinery/pkg/util/validation (IsDNS1123Label, IsDNS1123Subdomain,
IsEnvVarName, IsConfigMapKey), k8s.io/kubernetes/pkg/apis/core/validation
(validateLocalDescendingPath for subPath), tektoncd/pipeline pkg/apis/validate/metadata.go
(resource names: no '.', at most 63 characters) and the result name format of
pkg/apis/pipeline/v1/result_validation.go.
"""
from __future__ import annotations

import re
from pathlib import PurePosixPath

from interlock.run.errors import InvalidRun

_LABEL = r"[a-z0-9]([-a-z0-9]*[a-z0-9])?"
DNS_LABEL = re.compile(f"^{_LABEL}$")
DNS_SUBDOMAIN = re.compile(rf"^{_LABEL}(\.{_LABEL})*$")
ENV_NAME = re.compile(r"^[-._a-zA-Z][-._a-zA-Z0-9]*$")
CONFIG_KEY = re.compile(r"^[-._a-zA-Z0-9]+$")
RESULT_NAME = re.compile(r"^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$")
# Tekton does not restrict workspace names; they name folders of the run here, so they must be
# one plain path component
FOLDER_NAME = re.compile(r"^[A-Za-z0-9_][-A-Za-z0-9_.]*$")


def _text(value: object, where: str, what: str) -> str:
    if not isinstance(value, str) or not value:
        raise InvalidRun(where, f"{what} must be a non-empty string, got {value!r}")
    return value


def dns_label(value: object, where: str, what: str = "name") -> str:
    """A DNS-1123 label: a-z, 0-9 and '-', at most 63 characters (volume, step, task names)."""
    text = _text(value, where, what)
    if len(text) > 63 or not DNS_LABEL.match(text):
        raise InvalidRun(where, f"{what} {text[:80]!r} is not a DNS label (a-z, 0-9 and '-', "
                                "starting and ending with a letter or digit, at most 63 characters)")
    return text


def dns_subdomain(value: object, where: str, what: str = "name") -> str:
    """A DNS-1123 subdomain: DNS labels joined by '.', at most 253 characters (claim names)."""
    text = _text(value, where, what)
    if len(text) > 253 or not DNS_SUBDOMAIN.match(text):
        raise InvalidRun(where, f"{what} {text[:80]!r} is not a DNS subdomain (a-z, 0-9, '-' and "
                                "'.', at most 253 characters)")
    return text


def resource_name(value: object, where: str) -> str:
    """A TaskRun's or PipelineRun's metadata.name: a DNS subdomain that Tekton also keeps to 63
    characters without '.', so a DNS label."""
    return dns_label(value, where, "metadata.name")


def env_name(value: object, where: str) -> str:
    """An environment variable name (IsEnvVarName): letters, digits, '_', '-' and '.', not
    starting with a digit or with '..'. No such name is one podman would glob (`*`) or split
    (`=`)."""
    text = _text(value, where, "an env variable name")
    if not ENV_NAME.match(text) or text.startswith(".."):
        raise InvalidRun(where, f"env variable name {text[:80]!r} is not valid (letters, digits, "
                                "'_', '-' and '.', not starting with a digit or '..')")
    return text


def is_env_name(value: str) -> bool:
    return bool(ENV_NAME.match(value)) and not value.startswith("..")


def config_key(value: object, where: str) -> str:
    """A Secret or ConfigMap key (IsConfigMapKey): letters, digits, '-', '_' and '.', not '.' or
    starting with '..', so one file name of the stand-in folder."""
    text = _text(value, where, "a key")
    if len(text) > 253 or not CONFIG_KEY.match(text) or text == "." or text.startswith(".."):
        raise InvalidRun(where, f"key {text[:80]!r} is not a valid Secret/ConfigMap key (letters, "
                                "digits, '-', '_' and '.', not '.' or starting with '..')")
    return text


def result_name(value: object, where: str) -> str:
    text = _text(value, where, "a result name")
    if not RESULT_NAME.match(text):
        raise InvalidRun(where, f"result name {text[:80]!r} is not valid (letters, digits, '-', "
                                "'_' and '.', starting and ending with a letter or digit)")
    return text


def folder_name(value: object, where: str, what: str = "workspace name") -> str:
    text = _text(value, where, what)
    if len(text) > 253 or not FOLDER_NAME.match(text):
        raise InvalidRun(where, f"{what} {text[:80]!r} is not supported here: use letters, "
                                "digits, '-', '_' and '.' (not starting with '.' or '-')")
    return text


def sub_path(value: object, where: str) -> str:
    """A subPath (validateLocalDescendingPath): relative, without a '..' element."""
    text = _text(value, where, "subPath")
    path = PurePosixPath(text)
    if path.is_absolute() or ".." in path.parts or "\0" in text:
        raise InvalidRun(where, f"subPath {text[:80]!r} must be a relative path without '..'")
    return text


def container_path(value: object, where: str) -> str:
    """An absolute path inside a container that the runner maps onto a host folder (workingDir,
    stdoutConfig.path, mountPath): no '..' element (it could climb out of the shared volume it
    names) and no ':' (podman's -v separator)."""
    text = _text(value, where, "a path")
    path = PurePosixPath(text)
    if not path.is_absolute():
        raise InvalidRun(where, f"{text[:80]!r} is not an absolute path")
    if ".." in path.parts or ":" in text or "\0" in text:
        raise InvalidRun(where, f"{text[:80]!r}: a container path the runner maps onto a host "
                                "folder may not contain '..' or ':'")
    return text
