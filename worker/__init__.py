"""RQ jobs and the worker entry point. The database is the truth; RQ only a transport."""
