# scan-as: execution/services/pipeline.py
def first_step(steps):
    return steps["run"]
