import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe, test } from 'node:test';
import { claudeToolArgs, mergeOverrides, selectMcpServers } from '../../../../core/shaping/session-overrides.ts';
import {
  loadTemplateFile,
  parseTemplate,
  TemplateError,
  TemplateRegistry,
  templateSchema,
  type Template,
} from '../../../../core/shaping/templates.ts';

const dirs: string[] = [];
after(() => {
  for (const dir of dirs) fs.rmSync(dir, { recursive: true, force: true });
});

function tempDir(files: Record<string, string> = {}): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'templates-'));
  dirs.push(dir);
  for (const [name, text] of Object.entries(files)) {
    fs.mkdirSync(path.dirname(path.join(dir, name)), { recursive: true });
    fs.writeFileSync(path.join(dir, name), text);
  }
  return dir;
}

function extensionTemplate(name: string, fields: Partial<Template> = {}): Template {
  return { name, description: `${name} from an extension`, visibility: 'public', source: 'extension:demo', ...fields };
}

const messages = (errors: readonly Error[]): string[] => errors.map((error) => error.message);

describe('built-in templates', () => {
  const registry = new TemplateRegistry();

  test('coder, researcher and reviewer exist, with descriptions and system prompts', () => {
    assert.deepEqual(
      registry.list().map((template) => template.name),
      ['coder', 'researcher', 'reviewer'],
    );
    for (const template of registry.list()) {
      assert.equal(template.source, 'built-in');
      assert.ok(template.description.length > 0);
      assert.ok((template.systemPrompt ?? '').length > 0);
    }
  });

  test('coder keeps every tool', () => {
    const merged = mergeOverrides([registry.overridesFor('coder')]);
    assert.deepEqual(claudeToolArgs(merged), []);
    assert.equal(merged.mcpServers, undefined);
  });

  test('reviewer removes Edit, Write, MultiEdit, NotebookEdit and Bash, and allows only read-only tools', () => {
    const merged = mergeOverrides([registry.overridesFor('reviewer')]);
    for (const tool of ['Edit', 'Write', 'MultiEdit', 'NotebookEdit', 'Bash']) {
      assert.ok(merged.disallowedTools.includes(tool), `${tool} is denied`);
      assert.ok(!merged.tools?.includes(tool), `${tool} is not allowlisted`);
    }
    assert.deepEqual(merged.tools, ['Read', 'Grep', 'Glob', 'WebFetch', 'WebSearch', 'TodoWrite']);
    assert.deepEqual(claudeToolArgs(merged), [
      '--tools',
      'Read,Grep,Glob,WebFetch,WebSearch,TodoWrite',
      '--disallowedTools',
      'Edit,Write,MultiEdit,NotebookEdit,Bash',
    ]);
    assert.deepEqual(selectMcpServers([{ name: 'memory' }], merged), []);
  });

  test('researcher cannot edit but keeps Bash', () => {
    const merged = mergeOverrides([registry.overridesFor('researcher')]);
    assert.deepEqual(merged.disallowedTools, ['Edit', 'Write', 'MultiEdit', 'NotebookEdit']);
    assert.equal(merged.tools, undefined);
    assert.ok(!merged.disallowedTools.includes('Bash'));
  });
});

describe('templateSchema', () => {
  test('fills in public visibility', () => {
    const parsed = templateSchema.parse({ description: 'x' });
    assert.equal(parsed.visibility, 'public');
  });

  test('requires a description', () => {
    assert.equal(templateSchema.safeParse({ model: 'opus' }).success, false);
  });

  test('rejects system_prompt together with prompt_file', () => {
    assert.equal(templateSchema.safeParse({ description: 'x', system_prompt: 'a', prompt_file: 'b.md' }).success, false);
  });
});

describe('overridesFor', () => {
  test('no template gives no overrides', () => {
    assert.deepEqual(new TemplateRegistry().overridesFor(undefined), {});
  });

  test('an unknown template fails closed', () => {
    const overrides = new TemplateRegistry().overridesFor('nope');
    assert.deepEqual(overrides, { failClosed: 'unknown template "nope"' });
    const merged = mergeOverrides([overrides]);
    assert.deepEqual(claudeToolArgs(merged), ['--tools', '']);
    assert.deepEqual(selectMcpServers([{ name: 'cron' }], merged), []);
  });

  test('a configured template maps every field', () => {
    const registry = new TemplateRegistry();
    const errors = registry.setConfigTemplates(
      {
        ops: {
          description: 'operations',
          system_prompt: 'Be careful.',
          model: 'opus',
          tools: ['Read', 'Bash'],
          disallowed_tools: ['mcp__memory__forget'],
          mcp_servers: ['cron'],
          exclude_mcp_servers: ['telegram'],
          exclude_mcp_tags: ['personal'],
        },
      },
      '/etc/claude-ext',
    );
    assert.deepEqual(errors, []);
    assert.deepEqual(registry.overridesFor('ops'), {
      systemPrompt: 'Be careful.',
      model: 'opus',
      tools: ['Read', 'Bash'],
      disallowedTools: ['mcp__memory__forget'],
      mcpServers: ['cron'],
      excludeMcpServers: ['telegram'],
      excludeMcpTags: ['personal'],
    });
  });
});

describe('prompt_file', () => {
  test('is resolved against the base dir and read each time the template is used', () => {
    const dir = tempDir({ 'prompts/ops.md': 'first version' });
    const registry = new TemplateRegistry();
    assert.deepEqual(registry.setConfigTemplates({ ops: { description: 'ops', prompt_file: 'prompts/ops.md' } }, dir), []);
    assert.equal(registry.get('ops')?.promptFile, path.join(dir, 'prompts/ops.md'));
    assert.equal(registry.overridesFor('ops').systemPrompt, 'first version');
    fs.writeFileSync(path.join(dir, 'prompts/ops.md'), 'second version');
    assert.equal(registry.overridesFor('ops').systemPrompt, 'second version');
  });

  test('a missing prompt file fails closed and says which file', () => {
    const dir = tempDir();
    const registry = new TemplateRegistry();
    registry.setConfigTemplates({ ops: { description: 'ops', prompt_file: 'gone.md', tools: ['Read'] } }, dir);
    const overrides = registry.overridesFor('ops');
    assert.match(overrides.failClosed ?? '', /template "ops": cannot read prompt file .*gone\.md/);
    assert.deepEqual(mergeOverrides([overrides]).tools, []);
  });

  test('in a template file, is relative to that file', () => {
    const dir = tempDir({
      'templates/writer.yaml': 'description: writes\nprompt_file: ../prompts/writer.md\nvisibility: hidden\n',
      'prompts/writer.md': 'Write well.',
    });
    const template = loadTemplateFile(path.join(dir, 'templates/writer.yaml'));
    assert.equal(template.name, 'writer');
    assert.equal(template.source, path.join(dir, 'templates/writer.yaml'));
    assert.equal(template.visibility, 'hidden');
    assert.equal(template.promptFile, path.join(dir, 'prompts/writer.md'));
  });

  test('a relative cwd is resolved against the base dir too', () => {
    const template = parseTemplate('x', { description: 'x', cwd: 'work' }, { baseDir: '/srv', source: 'config' });
    assert.equal(template.cwd, '/srv/work');
  });
});

describe('config validation', () => {
  test('an unknown key is an error naming the template and the key', () => {
    const errors = new TemplateRegistry().setConfigTemplates({ ops: { description: 'ops', tool: ['Read'] } }, '/');
    assert.deepEqual(messages(errors), ['templates.ops.tool: unknown key']);
    assert.ok(errors[0] instanceof TemplateError);
    assert.equal(errors[0]?.template, 'ops');
    assert.equal(errors[0]?.key, 'tool');
  });

  test('a wrong type names the key, down to the list item', () => {
    const errors = new TemplateRegistry().setConfigTemplates({ ops: { description: 'ops', tools: ['Read', 3] } }, '/');
    assert.equal(errors.length, 1);
    assert.match(errors[0]?.message ?? '', /^templates\.ops\.tools\.1: /);
  });

  test('every error of every template is reported', () => {
    const errors = new TemplateRegistry().setConfigTemplates(
      {
        a: { system_prompt: 'no description' },
        b: { description: 'b', visibility: 'secret', colour: 'red' },
        c: 'not a mapping',
        d: { description: 'd', system_prompt: 'x', prompt_file: 'y.md' },
      },
      '/',
    );
    const text = messages(errors);
    assert.ok(text.includes('templates.a.description: required: say what the template is for'), text.join('\n'));
    assert.ok(text.includes('templates.b.colour: unknown key'), text.join('\n'));
    assert.ok(text.some((m) => m.startsWith('templates.b.visibility: ')), text.join('\n'));
    assert.ok(text.includes('templates.c: must be a mapping of template settings'), text.join('\n'));
    assert.ok(text.includes('templates.d.prompt_file: set system_prompt or prompt_file, not both'), text.join('\n'));
  });

  test('a bad template name is an error naming it', () => {
    const errors = new TemplateRegistry().setConfigTemplates({ 'Bad Name': { description: 'x' } }, '/');
    assert.equal(errors.length, 1);
    assert.match(errors[0]?.message ?? '', /^templates\.Bad Name: not a valid template name/);
  });

  test('a comma inside a tool name is refused, since the CLI would split it', () => {
    const errors = new TemplateRegistry().setConfigTemplates({ ops: { description: 'x', disallowed_tools: ['Edit,Bash'] } }, '/');
    assert.match(errors[0]?.message ?? '', /^templates\.ops\.disallowed_tools\.0: /);
  });

  test('an invalid configuration leaves the previous one in place', () => {
    const registry = new TemplateRegistry();
    assert.deepEqual(registry.setConfigTemplates({ ops: { description: 'first' } }, '/'), []);
    const errors = registry.setConfigTemplates({ ops: { description: 'second' }, broken: { nope: true } }, '/');
    assert.notEqual(errors.length, 0);
    assert.equal(registry.get('ops')?.description, 'first');
    assert.equal(registry.get('broken'), undefined);
  });

  test('a valid configuration replaces the previous one entirely', () => {
    const registry = new TemplateRegistry();
    registry.setConfigTemplates({ old: { description: 'old' } }, '/');
    registry.setConfigTemplates({ fresh: { description: 'fresh' } }, '/');
    assert.equal(registry.get('old'), undefined);
    assert.equal(registry.get('fresh')?.source, 'config');
  });

  test('parseTemplate throws a TemplateError; a template file error names the file', () => {
    assert.throws(() => parseTemplate('x', { description: 'x', extra: 1 }, { baseDir: '/', source: 'config' }), {
      name: 'TemplateError',
      message: 'templates.x.extra: unknown key',
    });
    const dir = tempDir({ 'bad.yaml': 'description: bad\nmodle: opus\n' });
    assert.throws(() => loadTemplateFile(path.join(dir, 'bad.yaml')), {
      message: `${path.join(dir, 'bad.yaml')}: modle: unknown key`,
    });
  });
});

describe('layering', () => {
  test('config overrides a built-in; a registration overrides config; dispose restores what it hid', () => {
    const registry = new TemplateRegistry();
    registry.setConfigTemplates({ reviewer: { description: 'config reviewer', disallowed_tools: ['Bash'] } }, '/');
    assert.equal(registry.get('reviewer')?.source, 'config');
    assert.deepEqual(registry.overridesFor('reviewer').disallowedTools, ['Bash']);

    const registration = registry.register(extensionTemplate('reviewer', { model: 'haiku' }));
    assert.equal(registry.get('reviewer')?.source, 'extension:demo');
    assert.equal(registry.overridesFor('reviewer').model, 'haiku');

    registration.dispose();
    assert.equal(registry.get('reviewer')?.source, 'config');
    registry.setConfigTemplates({}, '/');
    assert.equal(registry.get('reviewer')?.source, 'built-in');
  });

  test('disposing removes exactly that registration, in any order', () => {
    const registry = new TemplateRegistry();
    const first = registry.register(extensionTemplate('coder', { description: 'first' }));
    const second = registry.register(extensionTemplate('coder', { description: 'second' }));
    assert.equal(registry.get('coder')?.description, 'second');
    first.dispose();
    assert.equal(registry.get('coder')?.description, 'second');
    second.dispose();
    second.dispose();
    assert.equal(registry.get('coder')?.source, 'built-in');
  });

  test('a registered new name appears and disappears with its registration', () => {
    const registry = new TemplateRegistry();
    const registration = registry.register(extensionTemplate('helper'));
    assert.ok(registry.list().some((template) => template.name === 'helper'));
    registration.dispose();
    assert.equal(registry.get('helper'), undefined);
    assert.deepEqual(registry.overridesFor('helper'), { failClosed: 'unknown template "helper"' });
  });

  test('a registration with an invalid name is refused', () => {
    assert.throws(() => new TemplateRegistry().register(extensionTemplate('Not Valid')), TemplateError);
  });

  test('list hides hidden templates unless asked, and is sorted by name', () => {
    const registry = new TemplateRegistry();
    registry.setConfigTemplates({ secret: { description: 's', visibility: 'hidden' }, alpha: { description: 'a' } }, '/');
    assert.deepEqual(
      registry.list().map((template) => template.name),
      ['alpha', 'coder', 'researcher', 'reviewer'],
    );
    assert.deepEqual(
      registry.list({ includeHidden: true }).map((template) => template.name),
      ['alpha', 'coder', 'researcher', 'reviewer', 'secret'],
    );
    assert.ok(registry.get('secret'), 'a hidden template is still usable by name');
  });

  test('a hidden template overriding a public one hides it from the list', () => {
    const registry = new TemplateRegistry();
    const registration = registry.register(extensionTemplate('coder', { visibility: 'hidden' }));
    assert.ok(!registry.list().some((template) => template.name === 'coder'));
    registration.dispose();
    assert.ok(registry.list().some((template) => template.name === 'coder'));
  });

  test('registries do not share configuration or registrations', () => {
    const a = new TemplateRegistry();
    const b = new TemplateRegistry();
    a.setConfigTemplates({ only_a: { description: 'a' } }, '/');
    a.register(extensionTemplate('also_a'));
    assert.equal(b.get('only_a'), undefined);
    assert.equal(b.get('also_a'), undefined);
  });
});
