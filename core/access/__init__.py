"""Customer-file access control: borrowing permissions (客户信息借阅权限表) and change requests with
approval (客户信息更改申请表)."""
