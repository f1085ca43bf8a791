"""What happens to findings after the rules: suppression comments, the
baseline, ``--add-noqa``, and the output formats (``report.formats``)."""
