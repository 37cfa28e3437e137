// Watch JoxAI's live events from a terminal: connects to the WebSocket, authenticates with a token
// (customer or staff), optionally resumes after a sequence number, and prints every frame.
//
//   node --experimental-websocket infra/scripts/ws-listen.mjs TOKEN [AFTER_SEQ] [URL]
const [token, after, url = 'ws://localhost:5000/api/v1/ws'] = process.argv.slice(2);
if (!token) {
  console.error('usage: node --experimental-websocket infra/scripts/ws-listen.mjs TOKEN [AFTER_SEQ] [URL]');
  process.exit(2);
}
const socket = new WebSocket(url);
socket.addEventListener('open', () => {
  socket.send(JSON.stringify({ type: 'auth', token }));
  if (after !== undefined) socket.send(JSON.stringify({ type: 'resume', after: Number(after) }));
});
socket.addEventListener('message', (event) => console.log(event.data));
socket.addEventListener('close', (event) => {
  console.error(`closed: ${event.code} ${event.reason}`);
  process.exit(0);
});
socket.addEventListener('error', () => console.error('connection error'));
