"""The connections family's model (SL1xx): what a function does while it holds
a connection (``work``), when a hold keeps a connection checked out
(``timeline``), queries per loop round (``loops``) and lazy relationship
loads in loops (``lazyloads``)."""
