// The tests' fake Slack is the playground's Web API stand-in; this keeps the old import path working.
export { FakeSlack, type Injected, type RecordedCall } from '../../src/playground/fake-slack.ts';
