"""Options of one `interlock run`, shared by the TaskRun and PipelineRun runners."""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path


@dataclass
class Resources:
    """What the run file itself holds besides its runs (see documents.py): Tasks, Pipelines and
    StepActions by name, and the data of its Secret and ConfigMap documents (key -> bytes)."""
    tasks: dict[str, dict] = field(default_factory=dict)
    pipelines: dict[str, dict] = field(default_factory=dict)
    stepactions: dict[str, dict] = field(default_factory=dict)
    secrets: dict[str, dict[str, bytes]] = field(default_factory=dict, repr=False)
    configmaps: dict[str, dict[str, bytes]] = field(default_factory=dict)
    source: str = ""                          # the run file, for messages


@dataclass
class RunOptions:
    # `-w name=DIR`: a workspace binding name -> host folder (bind-mounted, read-write unless the
    # Task declares the workspace readOnly)
    workspaces: dict[str, Path] = field(default_factory=dict)
    # `--secret name=DIR` / `--configmap name=DIR`: stand-ins for Kubernetes objects, files = keys;
    # they win over a Secret/ConfigMap document of the same name in the run file
    secrets: dict[str, Path] = field(default_factory=dict)
    configmaps: dict[str, Path] = field(default_factory=dict)
    network: str = "none"                      # "none" | "host"
    # `--image-map FROM=TO`: run image FROM with the local image TO (exact reference, or the
    # repository part alone to match any tag/digest of it)
    image_map: dict[str, str] = field(default_factory=dict)
    timeout: float | None = None               # seconds; overrides spec.timeout when set
    keep: bool = False                         # keep the run folder (logs, results, spec)
    run_dir: Path | None = None                # parent of run folders (default: a temp folder)
    dry_run: bool = False                      # print the plan, start nothing
    parallel: int = 2                          # pipeline: tasks running at once
    task_file: Path | None = None              # `--task FILE`: resolves a taskRef
    pipeline_file: Path | None = None          # `--pipeline FILE`: resolves a pipelineRef
    stepaction_file: Path | None = None        # `--stepaction FILE`: resolves a step's `ref`
    resources: Resources = field(default_factory=Resources)  # documents of the run file
    # `--feature-flags k=v,...` over Tekton's defaults (see feature_flags.py)
    feature_flags: dict[str, str] = field(default_factory=dict)
    # folders a `hostPath` workspace binding may point into: set by the PipelineRun runner (its
    # run folder and the -w folders it passes on); a binding elsewhere is refused
    host_roots: tuple[Path, ...] = ()
    grace: float = 30.0                        # seconds between SIGTERM and SIGKILL (a pod's default)

    def flag(self, name: str) -> str:
        """A feature flag's value: --feature-flags, else Tekton's default."""
        from interlock.run.feature_flags import value
        return value(self.feature_flags, name)
