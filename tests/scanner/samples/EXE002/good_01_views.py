# scan-as: execution/api/views.py
from execution.services import AnalysisExecutionService


def analyse(request):
    return AnalysisExecutionService().execute(request=request)
