# scan-as: execution/services/job_execution.py
class JobExecutionService:
    def execute(self, payload):
        return self.plugin.run(payload)  # expect: EXE001
