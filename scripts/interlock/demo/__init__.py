"""`make demo`: the flagship pipeline, ml-feature-release, end to end on this machine.

Builds the step images, starts local fakes of the three systems the pipeline changes (a fake
Looker; a fake Kubernetes API with a mesh simulator and a real Prometheus; a fake Vertex AI with
Google's token services: tests/pipelines/world.py, what the pipeline-level tests use), runs the
pipeline's sample PipelineRun with `interlock run` in real containers, shows it as it goes
(live.py) and ends with a timeline and each system against how it began (timeline.py).
`make demo SCENARIO=bad-canary` (scenarios.py) runs it with a canary that fails, and its roll-back.
"""
