"""Training pipelines: data synthesis and training loops that produce ``weights/``. Never imported by ``restore``."""
