# scan-as: registry/services.py
def sync(rows, name):
    rows.update_or_create(name=name, defaults={"state": "ERROR"})  # expect: EXE004
