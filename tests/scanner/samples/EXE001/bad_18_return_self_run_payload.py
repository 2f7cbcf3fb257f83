# scan-as: plugins/builtin/echo.py
class Echo(AnalysisPlugin):
    def run(self, payload):
        return dict(payload)

    def run_twice(self, payload):
        return self.run(payload)  # expect: EXE001
