"""The replicas family's model (SL2xx): per-function def-use dataflow over
database values (``dataflow`` the vocabulary, ``interpret`` the interpreter,
``dbcalls`` what database calls do) and following values across functions and
modules (``flowgraph``)."""
