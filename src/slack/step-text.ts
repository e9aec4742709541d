// How an approval step's deciders are named in Slack: a group by name, a team-lead step by mentioning its leads.
import type { RoutedStep } from '../policy/teams.ts';
import { code, mention } from './text.ts';

/** `security`, or "the team leads (@ann, @bob)" so the leads are pinged where the card is posted. */
export const stepDeciders = (step: Pick<RoutedStep, 'from' | 'leads'>): string => (step.leads === undefined ? code(step.from) : `the team leads (${step.leads.map(mention).join(', ')})`);
