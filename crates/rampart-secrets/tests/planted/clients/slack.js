const { WebClient } = require('@slack/web-api');
const web = new WebClient('xoxb-32586287017-3577560614795-o0YfLfHkKMTqnaMqNXewKvHU');
const sgMail = require('@sendgrid/mail');
sgMail.setApiKey(process.env.SENDGRID_API_KEY);
module.exports = { web };
