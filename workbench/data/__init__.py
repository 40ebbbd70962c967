"""The data layer: readers of the source files (``fisoko``, ``exam_protocol``, ``tables``), their checks
(``schemas``, ``validation``, ``problems``), the importer (``importing``) and the store (``store``)."""
