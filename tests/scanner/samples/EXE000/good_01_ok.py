# scan-as: execution/ok.py
VALUE = 1
