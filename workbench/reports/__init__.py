"""The municipal справка. Section builders turn the analyses into blocks: ``identification`` and
``objectivity`` (their sections), ``findings`` («Основные выводы»), ``evidence`` (the card «Почему школа в
списке»), ``deliverables`` (parameters, sources, the run's index). ``builder`` saves the blocks; the writers
turn one run folder into HTML (``html``), DOCX (``docx``), PDF (``pdf``) and the XLSX workbook (``xlsx``) from
the same content (``document``)."""
