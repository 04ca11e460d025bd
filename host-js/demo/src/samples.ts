// Real tool outputs from the golden corpus (tests/golden/), built into the page.
import logCase from '../../../tests/golden/content-log-parity/case.json';
import log from '../../../tests/golden/content-log-parity/input.txt?raw';
import jsonCase from '../../../tests/golden/content-json-records/case.json';
import json from '../../../tests/golden/content-json-records/input.txt?raw';
import traceCase from '../../../tests/golden/content-traceback/case.json';
import trace from '../../../tests/golden/content-traceback/input.txt?raw';
import grepCase from '../../../tests/golden/content-grep/case.json';
import grep from '../../../tests/golden/content-grep/input.txt?raw';
import pytestCase from '../../../tests/golden/content-pytest/case.json';
import pytest from '../../../tests/golden/content-pytest/input.txt?raw';
import seriesCase from '../../../tests/golden/content-json-timeseries/case.json';
import series from '../../../tests/golden/content-json-timeseries/input.txt?raw';
import secrets from '../../../tests/golden-plugins/secrets.txt?raw';

export interface Sample {
  id: string;
  label: string;
  text: string;
  query?: string;
}

type Case = { query?: string };
const q = (c: Case) => c.query;

export const samples: Sample[] = [
  { id: 'content-log-parity', label: 'Application log (300 lines)', text: log, query: q(logCase as Case) },
  { id: 'content-traceback', label: 'Python traceback', text: trace, query: q(traceCase as Case) },
  { id: 'content-json-records', label: 'JSON records (API response)', text: json, query: q(jsonCase as Case) },
  { id: 'content-json-timeseries', label: 'JSON time series', text: series, query: q(seriesCase as Case) },
  { id: 'content-grep', label: 'grep -r results', text: grep, query: q(grepCase as Case) },
  { id: 'content-pytest', label: 'pytest run', text: pytest, query: q(pytestCase as Case) },
  { id: 'secrets', label: 'Deploy log with planted (fake) secrets', text: secrets },
];
