/** The user the terminal acts for when it names none (`claude-ext prompt` without `--user`). */
export const DEFAULT_USER = 'local';
