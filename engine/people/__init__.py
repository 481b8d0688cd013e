"""Who is who: accounts and tokens, 实名认证, company roles, 授权代办, subjects of
applications, regions, departments and outlets, assignment of tasks."""
