"""The municipal справка: section builders save blocks (``builder``); the writers turn one run folder into
HTML (``html``), DOCX (``docx``), PDF (``pdf``) and the XLSX workbook (``xlsx``) from the same content
(``document``)."""
