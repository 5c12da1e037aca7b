require("http").createServer((q, r) => r.end("ok\n")).listen(process.env.PORT || 8080);
