// A Bolt app that only acknowledges /access, in its own process like Sesame: the reference for the ack budget.
import bolt from '@slack/bolt';

const { App, HTTPReceiver, LogLevel } = bolt;
const receiver = new HTTPReceiver({ signingSecret: process.env.SLACK_SIGNING_SECRET ?? '', endpoints: '/slack/events', logLevel: LogLevel.ERROR });
// Token verification as Bolt does it by default (auth.test once, at start, against the fake Slack). With it off, Bolt
// would call auth.test again before every ack, and the reference would be slower than a plain Bolt app is.
const app = new App({ receiver, token: 'xoxb-bare', clientOptions: { slackApiUrl: process.env.SLACK_API_URL }, logLevel: LogLevel.ERROR });
app.command('/access', async ({ ack }) => {
  await ack();
});
await receiver.start(Number(process.env.PORT));
process.on('SIGTERM', () => void receiver.stop().then(() => process.exit(0)));
