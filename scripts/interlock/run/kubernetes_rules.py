"""Kubernetes' and Tekton's own rules for the names and paths of a run file that end up in host
paths or podman arguments. The API server and Tekton's webhook refuse a value that breaks them,
so the runner refuses it too (InvalidRun naming the field), before anything is created.

Sources: k8s.io/apimachinery/pkg/util/validation (IsDNS1123Label, IsDNS1123Subdomain,
IsEnvVarName, IsConfigMapKey), k8s.io/kubernetes/pkg/apis/core/validation
(validateLocalDescendingPath for subPath), tektoncd/pipeline pkg/apis/validate/metadata.go
(resource names) and the result name format of
pkg/apis/pipeline/v1/result_validation.go.
"""
from __future__ import annotations

import re
from pathlib import PurePosixPath
from typing import Callable

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


def _check(value: object, where: str, what: str, ok: Callable[[str], object], rule: str) -> str:
    """`value` if it is a non-empty string that passes `ok`; InvalidRun saying `rule` otherwise."""
    if not isinstance(value, str) or not value:
        raise InvalidRun(where, f"{what} must be a non-empty string, got {value!r}")
    if not ok(value):
        raise InvalidRun(where, f"{what} {value[:80]!r} is not valid: {rule}")
    return value


def dns_label(value: object, where: str, what: str = "name") -> str:
    """A DNS-1123 label (volume, step and pipeline task names)."""
    return _check(value, where, what, lambda t: len(t) <= 63 and DNS_LABEL.match(t),
                  "a DNS label is a-z, 0-9 and '-', starting and ending with a letter or digit, "
                  "at most 63 characters")


def dns_subdomain(value: object, where: str, what: str = "name") -> str:
    """A DNS-1123 subdomain: DNS labels joined by '.' (claim names)."""
    return _check(value, where, what, lambda t: len(t) <= 253 and DNS_SUBDOMAIN.match(t),
                  "a DNS subdomain is a-z, 0-9, '-' and '.', at most 253 characters")


def resource_name(value: object, where: str) -> str:
    """A TaskRun's or PipelineRun's metadata.name: a DNS subdomain (Kubernetes' rule for object
    names; Tekton v1.x no longer refuses the dots of one)."""
    return dns_subdomain(value, where, "metadata.name")


def is_env_name(value: str) -> bool:
    return bool(ENV_NAME.match(value)) and not value.startswith("..")


def env_name(value: object, where: str) -> str:
    """An environment variable name (IsEnvVarName). No such name is one podman would glob
    (`*`) or split (`=`)."""
    return _check(value, where, "env variable name", is_env_name,
                  "letters, digits, '_', '-' and '.', not starting with a digit or '..'")


def config_key(value: object, where: str) -> str:
    """A Secret or ConfigMap key (IsConfigMapKey), so one file name of the stand-in folder."""
    return _check(value, where, "key", lambda t: len(t) <= 253 and CONFIG_KEY.match(t)
                  and t != "." and not t.startswith(".."),
                  "letters, digits, '-', '_' and '.', not '.' or starting with '..'")


def result_name(value: object, where: str) -> str:
    return _check(value, where, "result name", RESULT_NAME.match,
                  "letters, digits, '-', '_' and '.', starting and ending with a letter or digit")


def folder_name(value: object, where: str, what: str = "workspace name") -> str:
    return _check(value, where, what, lambda t: len(t) <= 253 and FOLDER_NAME.match(t),
                  "the runner supports letters, digits, '-', '_' and '.' (not starting with '.' "
                  "or '-'): it names a folder")


def sub_path(value: object, where: str) -> str:
    """A subPath (validateLocalDescendingPath): relative, without a '..' element."""
    return _check(value, where, "subPath", lambda t: not PurePosixPath(t).is_absolute()
                  and ".." not in PurePosixPath(t).parts and "\0" not in t,
                  "a relative path without '..'")


def container_path(value: object, where: str) -> str:
    """An absolute path inside a container that the runner maps onto a host folder (workingDir,
    stdoutConfig.path, mountPath): no '..' element (it could climb out of the shared volume it
    names) and no ':' (podman's -v separator)."""
    return _check(value, where, "path", lambda t: PurePosixPath(t).is_absolute()
                  and ".." not in PurePosixPath(t).parts and ":" not in t and "\0" not in t,
                  "an absolute path without '..' or ':' (the runner maps it onto a host folder)")
