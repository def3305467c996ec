"""`crossdock report`: each connection's runs over time as one self-contained HTML page."""

from hub.report.data import ConnectionHistory, Report, RunPoint, build_report
from hub.report.page import render_report

__all__ = ["ConnectionHistory", "Report", "RunPoint", "build_report", "render_report"]
