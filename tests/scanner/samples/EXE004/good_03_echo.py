# scan-as: plugins/builtin/echo.py
RESULT = {"state": "SUCCESS"}
