"""The execution services, outermost first:

AnalysisExecutionService → JobExecutionService → PluginExecutionService → ToolRunner.
Views, tasks and commands call ``AnalysisExecutionService``; nothing outside this package
touches the ToolRunner.
"""

from execution.services.analysis_execution import AnalysisExecutionService
from execution.services.job_execution import JobExecutionService
from execution.services.plugin_execution import PluginExecutionService

__all__ = ["AnalysisExecutionService", "JobExecutionService", "PluginExecutionService"]
