"""A matter's policy beyond the process: grants (核定金额, 四眼), the register of
holders, result numbers, 免申即享."""
