// Language codes: the JSON header carries the enum name, the ROCKETMQ binary header its ordinal
// byte. Unknown bytes decode as OTHER and unknown names encode as OTHER's byte.

const LANGUAGES = ['JAVA', 'CPP', 'DOTNET', 'PYTHON', 'DELPHI', 'ERLANG', 'RUBY', 'OTHER', 'HTTP', 'GO', 'PHP', 'OMS', 'RUST'] as const;
const OTHER_BYTE = 7;
const BYTE_BY_NAME = new Map<string, number>(LANGUAGES.map((name, i) => [name, i]));

export function languageToByte(name: string): number {
  return BYTE_BY_NAME.get(name) ?? OTHER_BYTE;
}

export function languageFromByte(byte: number): string {
  return LANGUAGES[byte] ?? 'OTHER';
}
