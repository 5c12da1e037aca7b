// Answers every request with a line that uses the one dependency (ms).
const http = require("http");
const ms = require("ms");
const { greeting } = require("./greeting");

const port = Number(process.env.PORT || 8080);
http
  .createServer((req, res) => {
    res.writeHead(200, { "content-type": "text/plain" });
    res.end(`${greeting()} ${ms(90000)} ${process.env.NODE_ENV}\n`);
  })
  .listen(port, () => console.log(`listening on ${port}`));
