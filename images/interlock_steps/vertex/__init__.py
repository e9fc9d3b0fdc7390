"""The Vertex AI steps: vertex-train (train.py), vertex-deploy (deploy.py), vertex-verify (verify.py).

client.py builds the aiplatform_v1 clients (gapic.py imports only the four services used) with
keyless credentials (credentials.py) and runs every call; jobs.py, models.py, endpoints.py and
predictions.py hold the logic of each resource; waiting.py the backoff of long waits;
stopping.py turns SIGTERM into a clean-up.
"""
