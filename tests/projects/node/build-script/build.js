// Writes dist/server.js, using a dev dependency at build time only.
const fs = require("fs");
const ms = require("ms");
fs.mkdirSync("dist", { recursive: true });
fs.writeFileSync("dist/server.js", `require("http").createServer((q, r) => r.end("built ${ms(60000)}\\n")).listen(process.env.PORT || 8080);\n`);
