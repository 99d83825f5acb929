"""Messages to staff (counsellors, admins) and to people, outside the turn of a conversation.

- `directory.py`  counsellor codes (knowledge base and `aiguillage link`) and where requests go;
- `outbox.py`     the persistent outbox: a message is written in the database first, then sent
                  by the running adapter of its platform (or the e-mail sender), so nothing is
                  lost on a crash or while a platform is down;
- `email.py`      the SMTP sender (standard library `smtplib`, in a worker thread);
- `admins.py`     admin accounts: /stats, /nonrepondues, /reload in chat, reload reports.
"""
