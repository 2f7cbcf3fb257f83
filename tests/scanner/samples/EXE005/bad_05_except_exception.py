# scan-as: execution/selectors.py
def job_get(job_id):
    try:
        return fetch(job_id)
    except Exception:  # expect: EXE005
        return None
