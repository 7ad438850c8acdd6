import YAML from 'yaml';

/** What the index keeps of a note's Markdown. */
export interface NoteText {
  readonly title: string;
  readonly headings: readonly string[];
  readonly tags: readonly string[];
  readonly body: string;
}

const FRONT_MATTER = /^---\r?\n([\s\S]*?)\r?\n---\r?\n?/;
const TAG = /^[\p{L}\p{N}_][\p{L}\p{N}_/-]{0,63}$/u;

/**
 * Reads a note: tags from a YAML front matter (`tags: [a, b]`) and from `#tag` words, the title from
 * the first `# ` heading (else the file name), and the other headings.
 */
export function readNoteText(markdown: string, fileName: string): NoteText {
  const front = FRONT_MATTER.exec(markdown);
  const body = front ? markdown.slice(front[0].length) : markdown;
  const tags = new Set<string>();
  if (front) {
    for (const tag of frontMatterTags(front[1] ?? '')) tags.add(tag);
  }
  for (const match of body.matchAll(/(?:^|\s)#([\p{L}\p{N}_][\p{L}\p{N}_/-]*)/gu)) {
    const tag = match[1];
    if (tag && TAG.test(tag) && !/^\d+$/.test(tag)) tags.add(tag.toLowerCase());
  }
  const headings: string[] = [];
  let title: string | undefined;
  let inFence = false;
  for (const line of body.split('\n')) {
    if (/^\s*(```|~~~)/.test(line)) inFence = !inFence;
    if (inFence) continue;
    const heading = /^(#{1,6})\s+(.+?)\s*#*\s*$/.exec(line);
    if (!heading) continue;
    const text = heading[2] ?? '';
    if (title === undefined && heading[1] === '#') title = text;
    else headings.push(text);
  }
  return { title: title ?? fileName.replace(/\.md$/, ''), headings, tags: [...tags], body };
}

/** A note's text with its tags in the front matter (merged with tags it already had). */
export function withTags(markdown: string, tags: readonly string[]): string {
  if (tags.length === 0) return markdown;
  const front = FRONT_MATTER.exec(markdown);
  const existing = front ? frontMatterTags(front[1] ?? '') : [];
  const merged = [...new Set([...existing, ...tags.map((tag) => tag.toLowerCase())])];
  let data: Record<string, unknown> = {};
  if (front) {
    try {
      const parsed: unknown = YAML.parse(front[1] ?? '');
      if (parsed && typeof parsed === 'object' && !Array.isArray(parsed)) data = parsed as Record<string, unknown>;
    } catch {
      // an unreadable front matter is replaced by one that can be read
    }
  }
  const document = new YAML.Document({ ...data, tags: merged });
  const tagList = document.get('tags', true);
  if (YAML.isSeq(tagList)) tagList.flow = true;
  return `---\n${document.toString({ flowCollectionPadding: false }).trimEnd()}\n---\n${front ? markdown.slice(front[0].length) : markdown}`;
}

export function isValidTag(tag: string): boolean {
  return TAG.test(tag);
}

function frontMatterTags(yaml: string): string[] {
  let data: unknown;
  try {
    data = YAML.parse(yaml);
  } catch {
    return [];
  }
  if (!data || typeof data !== 'object') return [];
  const tags = (data as Record<string, unknown>).tags;
  const list = typeof tags === 'string' ? tags.split(/[,\s]+/) : Array.isArray(tags) ? tags : [];
  return list.filter((tag): tag is string => typeof tag === 'string' && TAG.test(tag)).map((tag) => tag.toLowerCase());
}
