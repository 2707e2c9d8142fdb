// What a reader of the pages must see, in each language, written here by
// hand for the browser suite: the labels it fills in, the buttons it
// presses, the headings and the flash messages it expects. Never read from
// src/pages/templates/strings/*.json, which is what these pin: an English
// string left in zh-CN.json, or a label that lost its translation, fails.

export type PageStrings = {
  /** The `lang` attribute of <html>. */
  lang: string;
  /** The Accept-Language a browser in this language sends (its Playwright locale). */
  locale: string;
  fields: { name: string; email: string; password: string; password_confirmation: string; current_password: string; new_password: string; new_password_confirmation: string; new_email: string; your_password: string };
  home: { title: string; register: string; log_in: string };
  register: { title: string; submit: string };
  login: { title: string; submit: string; forgot: string };
  confirm: { title: string; submit: string };
  confirm_email: { title: string; submit: string };
  resend: { title: string; submit: string };
  forgot: { title: string; submit: string };
  reset: { title: string; submit: string };
  account: { title: string; password_submit: string; email_submit: string; logout: string };
  mailbox: { title: string };
  flash: { signed_up: string; confirmed: string; logged_in: string; password_changed: string; logged_out: string; reset_requested: string; password_reset: string };
  alerts: { invalid_credentials: string };
  errors: { csrf_failed: { title: string }; invalid_token: { title: string; new_confirm_link: string; new_reset_link: string } };
};

export const en: PageStrings = {
  lang: 'en',
  locale: 'en-US',
  fields: {
    name: 'Name (optional)', email: 'Email address', password: 'Password', password_confirmation: 'Repeat the password',
    current_password: 'Current password', new_password: 'New password', new_password_confirmation: 'Repeat the new password',
    new_email: 'New email address', your_password: 'Your password',
  },
  home: { title: 'Welcome to Latchkey', register: 'Create an account', log_in: 'Log in' },
  register: { title: 'Create your account', submit: 'Create account' },
  login: { title: 'Log in', submit: 'Log in', forgot: 'Forgot your password?' },
  confirm: { title: 'Confirm your email address', submit: 'Confirm my email address' },
  confirm_email: { title: 'Confirm your new email address', submit: 'Confirm my new address' },
  resend: { title: 'Get a new confirmation link', submit: 'Send a new link' },
  forgot: { title: 'Forgot your password?', submit: 'Send me a link' },
  reset: { title: 'Choose a new password', submit: 'Set my new password' },
  account: { title: 'Your account', password_submit: 'Change password', email_submit: 'Send the confirmation link', logout: 'Log out of this browser' },
  mailbox: { title: 'Dev mailbox' },
  flash: {
    signed_up: 'Check your inbox: we sent a message to that address to finish signing up.',
    confirmed: 'Your email address is confirmed. You can log in now.',
    logged_in: 'You are logged in.',
    password_changed: 'Your password has been changed. Your other sessions were logged out.',
    logged_out: 'You have been logged out.',
    reset_requested: 'If an account uses this address, a link to reset its password is on its way.',
    password_reset: 'Your password has been changed. Log in with your new password.',
  },
  alerts: { invalid_credentials: 'The email address or password is not correct.' },
  errors: {
    csrf_failed: { title: 'This form has expired' },
    invalid_token: { title: 'This link does not work', new_confirm_link: 'Get a new confirmation link', new_reset_link: 'Get a new reset link' },
  },
};

export const zh: PageStrings = {
  lang: 'zh-CN',
  locale: 'zh-CN',
  fields: {
    name: '姓名（可选）', email: '邮箱地址', password: '密码', password_confirmation: '再次输入密码',
    current_password: '当前密码', new_password: '新密码', new_password_confirmation: '再次输入新密码',
    new_email: '新邮箱地址', your_password: '您的密码',
  },
  home: { title: '欢迎使用 Latchkey', register: '注册账户', log_in: '登录' },
  register: { title: '注册账户', submit: '注册' },
  login: { title: '登录', submit: '登录', forgot: '忘记密码？' },
  confirm: { title: '确认您的邮箱地址', submit: '确认我的邮箱地址' },
  confirm_email: { title: '确认您的新邮箱地址', submit: '确认新邮箱地址' },
  resend: { title: '获取新的确认链接', submit: '发送新链接' },
  forgot: { title: '忘记密码？', submit: '发送链接' },
  reset: { title: '设置新密码', submit: '设置新密码' },
  account: { title: '我的账户', password_submit: '修改密码', email_submit: '发送确认链接', logout: '在此浏览器上退出登录' },
  mailbox: { title: '开发邮箱' },
  flash: {
    signed_up: '请查收邮件：我们已向该地址发送了一封邮件，用于完成注册。',
    confirmed: '您的邮箱地址已确认，现在可以登录了。',
    logged_in: '您已登录。',
    password_changed: '您的密码已更改，其他设备上的登录已退出。',
    logged_out: '您已退出登录。',
    reset_requested: '如果有账户使用此地址，重置密码的链接已在发送途中。',
    password_reset: '您的密码已更改，请用新密码登录。',
  },
  alerts: { invalid_credentials: '邮箱地址或密码不正确。' },
  errors: {
    csrf_failed: { title: '表单已过期' },
    invalid_token: { title: '此链接无效', new_confirm_link: '获取新的确认链接', new_reset_link: '获取新的重置链接' },
  },
};

export const ru: PageStrings = {
  lang: 'ru',
  locale: 'ru-RU',
  fields: {
    name: 'Имя (необязательно)', email: 'Адрес электронной почты', password: 'Пароль', password_confirmation: 'Повторите пароль',
    current_password: 'Текущий пароль', new_password: 'Новый пароль', new_password_confirmation: 'Повторите новый пароль',
    new_email: 'Новый адрес электронной почты', your_password: 'Ваш пароль',
  },
  home: { title: 'Добро пожаловать в Latchkey', register: 'Создать учётную запись', log_in: 'Войти' },
  register: { title: 'Создание учётной записи', submit: 'Создать учётную запись' },
  login: { title: 'Вход', submit: 'Войти', forgot: 'Забыли пароль?' },
  confirm: { title: 'Подтвердите адрес электронной почты', submit: 'Подтвердить мой адрес' },
  confirm_email: { title: 'Подтвердите новый адрес электронной почты', submit: 'Подтвердить новый адрес' },
  resend: { title: 'Новая ссылка для подтверждения', submit: 'Отправить новую ссылку' },
  forgot: { title: 'Забыли пароль?', submit: 'Прислать ссылку' },
  reset: { title: 'Новый пароль', submit: 'Сохранить новый пароль' },
  account: { title: 'Моя учётная запись', password_submit: 'Сменить пароль', email_submit: 'Отправить ссылку для подтверждения', logout: 'Выйти в этом браузере' },
  mailbox: { title: 'Почтовый ящик разработчика' },
  flash: {
    signed_up: 'Проверьте почту: мы отправили на этот адрес письмо, чтобы завершить регистрацию.',
    confirmed: 'Адрес электронной почты подтверждён. Теперь можно войти.',
    logged_in: 'Вы вошли.',
    password_changed: 'Пароль изменён. Остальные сеансы завершены.',
    logged_out: 'Вы вышли.',
    reset_requested: 'Если этот адрес принадлежит учётной записи, ссылка для сброса пароля уже в пути.',
    password_reset: 'Пароль изменён. Войдите с новым паролем.',
  },
  alerts: { invalid_credentials: 'Неверный адрес электронной почты или пароль.' },
  errors: {
    csrf_failed: { title: 'Форма устарела' },
    invalid_token: { title: 'Ссылка не работает', new_confirm_link: 'Получить новую ссылку для подтверждения', new_reset_link: 'Получить новую ссылку для сброса' },
  },
};
