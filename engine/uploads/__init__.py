"""Material uploads (申请材料): files applicants hand in, clerks view.

One concept per module:

- ``sniffing``: what a file is, by its bytes (PDF, JPEG, PNG, OFD); nothing else is taken
- ``names``: the client's file name made safe to keep and to send back
- ``storage``: where the bytes go (``Storage``: the database, or a directory by SHA-256)
- ``scanning``: the virus-scan hook point (``Scanner``: none, or a command)
- ``receiving``: ``Uploads``, the use cases: an upload taken in (checked, scanned, stored) and read back
- ``reading``: who may read an upload (and list an application's), and the record of staff's views
- ``references``: the ``upload:<id>`` a material names an upload by
- ``attaching``: a material naming ``upload:<id>`` attaches the upload to its application
"""
