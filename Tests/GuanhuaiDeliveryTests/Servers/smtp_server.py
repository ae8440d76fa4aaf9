#!/usr/bin/env python3
"""SMTP servers for guanhuai's tests, on loopback.

    smtp_server.py --maildir DIR [--tls none|starttls|implicit] [--cert C --key K] [--auth] [--auth-without-tls]
    smtp_server.py --raw greet421|stall|trickle
    smtp_server.py --maildir DIR --close-after N

The real server is aiosmtpd (PyPI). It stores each message as DIR/N.eml and answers by address:
RCPT reject@… → 550, DATA for tempfail@… → 451. Two tiny raw servers stand beside it for what aiosmtpd cannot be
asked to do: a 421 greeting, a reply that stops half way (a stalled server), and a reply to the end of a message sent one
byte every 2 seconds (a trickling server). With --close-after N, aiosmtpd closes each connection after accepting N
messages (a server with a per-connection limit: the next MAIL FROM finds it closed), and DIR/offers counts the
messages it was offered (each DATA).
DIR/N.peer holds the client's address and port of the connection that delivered message N.
With --hold-after N --hold-file F, every message after the N-th waits, unanswered, for as long as F exists: a test
knows exactly how many messages were stored when it kills the client, however slowly the machine runs.
Prints "READY <port>" once listening, then serves until killed.
"""
import argparse, asyncio, os, socket, ssl, sys, time

def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port

USER, PASSWORD = b"guanhuai", b"pa:ss w0rd!"

class Handler:
    def __init__(self, maildir, delay=0, close_after=0, hold_after=0, hold_file=None):
        self.maildir = maildir
        self.delay = delay
        self.hold_after = hold_after
        self.hold_file = hold_file
        # A restarted server goes on numbering after what is there (the booted test stops and starts it).
        self.count = max([int(f[:-4]) for f in os.listdir(maildir) if f.endswith(".eml") and f[:-4].isdigit()] or [0])
        self.close_after = close_after

    async def handle_MAIL(self, server, session, envelope, address, mail_options):
        # A connection that has had its N messages is closed when the next one is begun: the client has written its
        # MAIL FROM (the message is offered) and finds the connection gone. (Closing on a timer after the Nth reply
        # raced with the client's next DATA under load: the server could take a message whose reply never arrived.)
        if self.close_after and getattr(session, "accepted", 0) >= self.close_after:
            server.transport.close()
            return "421 4.7.0 too many messages on this connection"
        envelope.mail_from = address
        envelope.mail_options.extend(mail_options)
        return "250 OK"

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address.startswith("reject@"):
            return "550 5.1.1 <%s>: no such user here" % address
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        with open(os.path.join(self.maildir, "offers"), "a") as f:
            f.write("1\n")
        if self.close_after:
            session.accepted = getattr(session, "accepted", 0) + 1
        if any(r.startswith("tempfail@") for r in envelope.rcpt_tos):
            return "451 4.3.0 mailbox temporarily unavailable, try later"
        if self.delay:
            await asyncio.sleep(self.delay)
        if self.hold_file and self.count >= self.hold_after:
            while os.path.exists(self.hold_file):
                await asyncio.sleep(0.05)
        self.count += 1
        name = "%06d" % self.count
        with open(os.path.join(self.maildir, name + ".tmp"), "wb") as f:
            f.write(envelope.original_content)
        os.rename(os.path.join(self.maildir, name + ".tmp"), os.path.join(self.maildir, name + ".eml"))
        with open(os.path.join(self.maildir, name + ".env"), "w") as f:
            f.write(envelope.mail_from + "\n" + "\n".join(envelope.rcpt_tos) + "\n")
        with open(os.path.join(self.maildir, name + ".peer"), "w") as f:
            f.write("%s:%d\n" % tuple(session.peer[:2]))  # the client's address: one per connection
        return "250 2.0.0 Ok: queued as %s" % name

def authenticator(server, session, envelope, mechanism, auth_data):
    from aiosmtpd.smtp import AuthResult, LoginPassword
    ok = isinstance(auth_data, LoginPassword) and auth_data.login == USER and auth_data.password == PASSWORD
    return AuthResult(success=ok, handled=False)  # handled=False: let aiosmtpd answer 535

async def raw(mode, port):
    async def client(reader, writer):
        if mode == "greet421":
            writer.write(b"421 4.3.2 Service not available, closing transmission channel\r\n")
            await writer.drain()
            writer.close()
            return
        if mode == "trickle":
            writer.write(b"220 trickle.test ESMTP\r\n")
            await writer.drain()
            in_data = False
            while True:
                line = await reader.readline()
                if not line:
                    return
                if in_data:
                    if line == b".\r\n":
                        in_data = False
                        for b in b"250 2.0.0 Ok: queued\r\n":
                            writer.write(bytes([b]))
                            await writer.drain()
                            await asyncio.sleep(2)
                    continue
                cmd = line[:4].upper()
                if cmd == b"EHLO":
                    writer.write(b"250-trickle.test\r\n250 8BITMIME\r\n")
                elif cmd == b"DATA":
                    in_data = True
                    writer.write(b"354 go ahead\r\n")
                elif cmd == b"QUIT":
                    writer.write(b"221 bye\r\n")
                    await writer.drain()
                    writer.close()
                    return
                else:
                    writer.write(b"250 OK\r\n")
                await writer.drain()
        writer.write(b"220 stall.test ESMTP\r\n")
        await writer.drain()
        await reader.readline()  # EHLO
        writer.write(b"250-stall.test\r\n250-PIPELINING\r\n")  # ... and never the last line
        await writer.drain()
        await asyncio.sleep(3600)
    server = await asyncio.start_server(client, "127.0.0.1", port)
    print("READY %d" % port, flush=True)
    async with server:
        await server.serve_forever()

def main():
    p = argparse.ArgumentParser()
    p.add_argument("--maildir")
    p.add_argument("--tls", default="none", choices=["none", "starttls", "implicit"])
    p.add_argument("--cert")
    p.add_argument("--key")
    p.add_argument("--auth", action="store_true")
    p.add_argument("--auth-without-tls", action="store_true")
    p.add_argument("--password-file", help="the password AUTH expects (default: the tests' fixed one)")
    p.add_argument("--raw", choices=["greet421", "stall", "trickle"])
    p.add_argument("--close-after", type=int, default=0, help="close each connection after accepting N messages")
    p.add_argument("--port", type=int, default=0)
    p.add_argument("--delay", type=float, default=0, help="seconds to wait before accepting each message")
    p.add_argument("--hold-after", type=int, default=0, help="hold every message after the N-th while --hold-file exists")
    p.add_argument("--hold-file")
    a = p.parse_args()
    port = a.port or free_port()
    if a.password_file:
        global PASSWORD
        PASSWORD = open(a.password_file, "rb").read().rstrip(b"\r\n")
    if a.raw:
        asyncio.run(raw(a.raw, port))
        return
    from aiosmtpd.controller import Controller
    kwargs = {}
    if a.tls != "none":
        ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        ctx.load_cert_chain(a.cert, a.key)
        if a.tls == "starttls":
            kwargs.update(tls_context=ctx, require_starttls=True)
        else:
            kwargs.update(ssl_context=ctx)
    if a.auth or a.auth_without_tls:
        # aiosmtpd's auth_require_tls counts only STARTTLS; on an implicit-TLS listener the link is encrypted anyway.
        kwargs.update(authenticator=authenticator, auth_required=True,
                      auth_require_tls=not a.auth_without_tls and a.tls != "implicit")
    controller = Controller(Handler(a.maildir, a.delay, a.close_after, a.hold_after, a.hold_file), hostname="127.0.0.1", port=port, server_hostname="aiosmtpd.test",
                            **kwargs)
    controller.start()
    print("READY %d" % port, flush=True)
    try:
        while True:
            time.sleep(3600)
    finally:
        controller.stop()

if __name__ == "__main__":
    main()
