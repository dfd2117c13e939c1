"""Static, self-contained HTML pages: feature dashboards (``genolens dashboard``) and run reports.

:func:`genolens.report.dashboard.build_dashboard` turns an annotation folder (``genolens annotate``)
into ``index.html`` + one page per feature. Nothing is imported here, so that the light run report
does not pay for the feature stack.
"""
