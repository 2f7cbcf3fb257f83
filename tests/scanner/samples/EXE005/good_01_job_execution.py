# scan-as: execution/services/job_execution.py
import logging

from execution.exceptions import PluginError

logger = logging.getLogger(__name__)


def execute(call, payload):
    try:
        return call(payload)
    except ValueError:
        pass
    except Exception as error:
        raise PluginError() from error
    try:
        return call(payload)
    except Exception:
        logger.exception("second attempt failed")
    return None
