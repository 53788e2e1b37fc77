/**
 * Newline-delimited JSON over a socket, as the raw-pipe baseline uses it on both ends: every
 * line written in one tick goes out in one write; incoming text is split on '\n' and parsed.
 */

/** A `send(line)` that queues `line` (ending in '\n') and writes the tick's lines at once. */
export function tickWriter(socket) {
  let out = [];
  let scheduled = false;
  const flush = () => {
    scheduled = false;
    const text = out.join('');
    out = [];
    socket.write(text);
  };
  return (line) => {
    out.push(line);
    if (!scheduled) {
      scheduled = true;
      process.nextTick(flush);
    }
  };
}

/** Call `onMessage(parsed)` for every complete line arriving on `socket`. */
export function readLines(socket, onMessage) {
  let rest = '';
  socket.setEncoding('utf8');
  socket.on('data', (chunk) => {
    const text = rest + chunk;
    let start = 0;
    for (let nl = text.indexOf('\n'); nl !== -1; nl = text.indexOf('\n', start)) {
      const m = JSON.parse(text.slice(start, nl));
      start = nl + 1;
      onMessage(m);
    }
    rest = text.slice(start);
  });
}
